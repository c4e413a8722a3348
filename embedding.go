package lyumen

// EmbedRequest asks for the embeddings of some texts. It is not a
// conversation: there is nothing to translate but the texts themselves.
type EmbedRequest struct {
	Surface Surface
	// Model is the public model name; the router hands each provider a copy
	// whose Model is the upstream model name.
	Model string
	// Input holds the texts to embed, in order. It is nil when the client
	// sent token arrays, which only a provider speaking the surface's wire
	// format can pass on (in Body).
	Input []string
	// Body is the request exactly as the client sent it, for providers that
	// speak the surface's wire format (dimensions, encoding_format, user, ...).
	Body []byte

	// OnAttempt, when set, is told about every upstream attempt, as for
	// Request.OnAttempt.
	OnAttempt func(Attempt)
}

// EmbedResponse is what a provider answered to an EmbedRequest.
type EmbedResponse struct {
	Model string // as the upstream reported it
	// Vectors holds one embedding per input, in order, when the provider
	// does not speak the surface's wire format. It is nil when Raw is set.
	Vectors [][]float64
	// Usage counts the input tokens (PromptTokens and TotalTokens).
	Usage *Usage
	// Raw is the upstream's body when it is already in the request's
	// surface format, so the surface can send it on unchanged.
	Raw []byte
}
