package lyumen

import (
	"encoding/json"
	"slices"
	"strings"
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
	Body []byte
	// AnthropicBeta is the client's anthropic-beta header, one value per
	// line it sent. Anthropic providers forward it (beta features need it),
	// others ignore it. A feature flag, not content: it is never recorded.
	AnthropicBeta []string

	// The conversation in canonical form, the same whatever the surface:
	// what providers that do not speak the surface's format translate from,
	// and what is recorded for datasets.
	Messages   []Message
	Tools      []Tool
	ToolChoice *ToolChoice
	// NoParallelToolCalls asks for at most one tool call per turn: OpenAI's
	// parallel_tool_calls false, Anthropic's disable_parallel_tool_use.
	NoParallelToolCalls bool
	// ReasoningEffort is how hard a reasoning model should think ("low",
	// "medium", "high", …), as OpenAI's APIs name it; "" when not asked.
	ReasoningEffort string
	// ReasoningBudget is how many tokens a model may think for, as
	// Anthropic's thinking says it: its budget_tokens, 0 for thinking
	// disabled, -1 for adaptive (as much as the model decides); nil when
	// not asked.
	ReasoningBudget *int
	MaxTokens       int // 0: the upstream's default
	// CappedMaxTokens says the router lowered MaxTokens to the model's cap,
	// so a provider forwarding the client's body must set it there too.
	CappedMaxTokens bool
	// Temperature and TopP are nil when the client left them unset.
	Temperature *float64
	TopP        *float64
	// FrequencyPenalty and PresencePenalty are OpenAI's frequency_penalty
	// and presence_penalty (-2 to 2), nil when unset. Best effort, as Seed:
	// an upstream without them (Anthropic, Gemini 2.5 and later) goes
	// without.
	FrequencyPenalty *float64
	PresencePenalty  *float64
	Stop             []string
	// TopK samples from the K likeliest tokens only (Anthropic's and
	// Gemini's top_k; OpenAI's APIs have none); nil when unset.
	TopK *int
	// N is how many answers the client asked for: 0 and 1 both mean one.
	N int
	// Seed asks for reproducible sampling, as far as the upstream can; nil
	// when unset. Best effort everywhere, so an upstream without seeds
	// (Anthropic) goes without.
	Seed *int64
	// Format constrains the answer to JSON; nil leaves it free text.
	Format *Format
	// ScoreOnly says the client asked for no answer at all, only the
	// prompt scored (a legacy completion's echo with max_tokens 0): no
	// model cap turns that into an answer.
	ScoreOnly bool
	// Untranslated, when set, says why the request can go only as written,
	// to an upstream that speaks its surface (a completions prompt with a
	// suffix, say): a provider that would translate it returns this error.
	Untranslated *Error

	// OnAttempt, when set, is told about every upstream attempt the router
	// makes, so the record can say which targets were tried and why they failed.
	OnAttempt func(Attempt)
}

// Format asks for an answer in JSON. Every surface has its own shape for
// it (OpenAI's response_format and text.format, Anthropic's
// output_config.format), and so does every upstream.
type Format struct {
	// Type is FormatJSONObject (any JSON object) or FormatJSONSchema.
	Type string
	// Name, Description and Strict are OpenAI's; other APIs have no place
	// for them.
	Name        string
	Description string
	Strict      *bool
	// Schema is the JSON Schema the answer follows, for FormatJSONSchema.
	Schema json.RawMessage
}

// Format types.
const (
	FormatJSONObject = "json_object"
	FormatJSONSchema = "json_schema"
)

// Attempt is one try of one target.
type Attempt struct {
	Provider string        `json:"provider"`
	Model    string        `json:"model"`
	Status   int           `json:"status,omitempty"` // upstream HTTP status, when one came
	Error    string        `json:"error,omitempty"`  // "" when this target served
	Duration time.Duration `json:"duration"`
}

// Message is one turn of a conversation in canonical form. Roles are
// "system", "user", "assistant" and "tool" (a tool's result, answering the
// call ToolCallID).
type Message struct {
	Role string `json:"role"`
	// Content is the text of a text-only message. A message with more than
	// text (images) has Parts instead, and Content is empty.
	Content    string     `json:"content,omitempty"`
	Parts      []Part     `json:"parts,omitempty"`
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
	Name       string     `json:"name,omitempty"`
	// Reasoning is the text a model thought aloud before its answer, as an
	// upstream sent it (reasoning_content, Anthropic's thinking, Gemini's
	// thought parts); Refusal is an OpenAI model's refusal in place of
	// content. Both are part of what the client received.
	Reasoning string `json:"reasoning,omitempty"`
	Refusal   string `json:"refusal,omitempty"`
}

// Text returns the message's text, from Content or its text parts.
func (m *Message) Text() string {
	if m.Parts == nil {
		return m.Content
	}
	var b strings.Builder
	for _, p := range m.Parts {
		if p.Type == PartText {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// WithoutThinking returns m without the thinking an Anthropic client sends
// back with earlier assistant turns (parts of type "anthropic:thinking" and
// "anthropic:redacted_thinking"), or m itself when it has none. Thinking is
// signed for Anthropic and means nothing to other providers, and Anthropic
// itself leaves earlier turns' thinking out of the context, so a
// conversation sent elsewhere loses nothing by it; refusing it would refuse
// every later turn of a thinking client, one that changed models included.
// What is left is the turn as the decoders make it without thinking: one
// text part is plain Content (some OpenAI-compatible servers take an
// assistant's content as a string only), and no part is no Parts.
func (m *Message) WithoutThinking() *Message {
	if !slices.ContainsFunc(m.Parts, isThinking) {
		return m
	}
	out := *m
	out.Parts = slices.DeleteFunc(slices.Clone(m.Parts), isThinking)
	switch {
	case len(out.Parts) == 0:
		out.Parts = nil
	case len(out.Parts) == 1 && out.Parts[0].Type == PartText:
		out.Content, out.Parts = out.Parts[0].Text, nil
	}
	return &out
}

func isThinking(p Part) bool {
	return p.Type == "anthropic:thinking" || p.Type == "anthropic:redacted_thinking"
}

// Part kinds.
const (
	PartText  = "text"
	PartImage = "image"
)

// Part is one piece of a message's content.
type Part struct {
	Type string `json:"type"` // PartText or PartImage
	Text string `json:"text,omitempty"`
	// An image is either an address (URL, http(s)) or inline data
	// (MediaType and Data, base64). A data: URL is stored as inline data.
	URL       string `json:"url,omitempty"`
	MediaType string `json:"media_type,omitempty"`
	Data      string `json:"data,omitempty"`
}

// Tool is a function the model may call.
type Tool struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"` // JSON Schema
	// Strict asks for arguments that match Parameters exactly (OpenAI's
	// strict); nil when the client did not say.
	Strict *bool `json:"strict,omitempty"`
}

// ToolChoice says whether and which tool the model must call.
type ToolChoice struct {
	Mode string `json:"mode"`           // "auto", "none", "required" (any tool) or "tool"
	Name string `json:"name,omitempty"` // with Mode "tool"
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

// Usage counts tokens as the upstream reported them. CachedTokens and
// ReasoningTokens are parts of PromptTokens and CompletionTokens, not
// added to them; zero when the upstream reported none (or did not say).
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
	// CachedTokens are prompt tokens read from the upstream's cache:
	// OpenAI's prompt_tokens_details.cached_tokens, Anthropic's
	// cache_read_input_tokens, Gemini's cachedContentTokenCount.
	CachedTokens int `json:"cached_tokens,omitempty"`
	// ReasoningTokens are completion tokens the model spent reasoning,
	// shown or not: OpenAI's completion_tokens_details.reasoning_tokens,
	// Anthropic's output_tokens_details.thinking_tokens, Gemini's
	// thoughtsTokenCount.
	ReasoningTokens int `json:"reasoning_tokens,omitempty"`
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
