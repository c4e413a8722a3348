package lyumen

import (
	"encoding/json"
	"time"
)

// Request is one client request after its surface decoded and validated it.
type Request struct {
	Surface Surface
	// Model is the public model name the client asked for. The router hands
	// each provider a copy whose Model is the upstream model name.
	Model  string
	Stream bool
	// IncludeUsage says the client asked for a usage event at the end of a
	// stream. Providers always ask their upstream for usage, so that every
	// stream is recorded with its token counts; the surface drops that
	// event when the client did not ask for it.
	IncludeUsage bool
	// Body is the request exactly as the client sent it. A provider that
	// speaks the surface's wire format forwards it (rewriting only what it
	// must), so every field the upstream understands passes through.
	Body     []byte
	Messages []Message
	// OnAttempt, when set, is told about every upstream attempt the router
	// makes, so the record can say which targets were tried and why they failed.
	OnAttempt func(Attempt)
}

// Attempt is one try of one target.
type Attempt struct {
	Provider string        `json:"provider"`
	Model    string        `json:"model"`
	Status   int           `json:"status,omitempty"` // upstream HTTP status, when one came
	Error    string        `json:"error,omitempty"`  // "" when this target served
	Duration time.Duration `json:"duration"`
}

// Message is one turn of a conversation in canonical form.
type Message struct {
	Role       string     `json:"role"`
	Content    string     `json:"content,omitempty"`
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
	Name       string     `json:"name,omitempty"`
	// Parts keeps content the canonical form does not model yet (images,
	// audio) as the client sent it.
	Parts json.RawMessage `json:"parts,omitempty"`
}

// ToolCall is a function call made by the model.
type ToolCall struct {
	Index     int    `json:"index"`
	ID        string `json:"id,omitempty"`
	Type      string `json:"type,omitempty"`
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// Choice is one of the n completions of a request.
type Choice struct {
	Index        int     `json:"index"`
	Message      Message `json:"message"`
	FinishReason string  `json:"finish_reason,omitempty"`
}

// Usage counts tokens as the upstream reported them.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// Response is a whole (non-streamed) completion.
type Response struct {
	ID      string   `json:"id,omitempty"`
	Model   string   `json:"model,omitempty"` // as the upstream reported it
	Choices []Choice `json:"choices"`
	Usage   *Usage   `json:"usage,omitempty"`
	// Raw is the upstream's body when it is already in the request's surface
	// format, so the surface can send it on unchanged.
	Raw []byte `json:"-"`
}
