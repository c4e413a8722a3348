// Package lyumen holds the shared vocabulary of the gateway: the canonical
// request and response, the streamed event, the provider and recorder
// contracts, the model catalogue and the one error type a client may see.
// It imports the standard library only; every adapter depends on it.
package lyumen

// Surface names the client-facing API a request arrived on. Providers use it
// to decide whether they can hand the upstream's bytes straight back.
type Surface string

// Surfaces served by the gateway.
const (
	SurfaceOpenAIChat        Surface = "openai.chat"
	SurfaceOpenAIResponses   Surface = "openai.responses"
	SurfaceOpenAICompletions Surface = "openai.completions" // legacy; translated to chat, or sent as written to a native upstream
	SurfaceOpenAIEmbeddings  Surface = "openai.embeddings"
	// SurfaceAnthropicMessages is Anthropic's /v1/messages.
	SurfaceAnthropicMessages Surface = "anthropic.messages"
)
