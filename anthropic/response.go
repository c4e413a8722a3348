package anthropic

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/jsontext"
)

// wireMessage is a non-streamed /v1/messages response, as read from an
// upstream.
type wireMessage struct {
	ID         string      `json:"id"`
	Type       string      `json:"type"`
	Model      string      `json:"model"`
	Content    []wireBlock `json:"content"`
	StopReason string      `json:"stop_reason"`
	Usage      *wireUsage  `json:"usage"`
}

type wireBlock struct {
	Type     string          `json:"type"`
	Text     string          `json:"text"`
	Thinking string          `json:"thinking"`
	ID       string          `json:"id"`
	Name     string          `json:"name"`
	Input    json.RawMessage `json:"input"`
}

type wireUsage struct {
	InputTokens              int `json:"input_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
	OutputTokens             int `json:"output_tokens"`
	OutputTokensDetails      struct {
		ThinkingTokens int `json:"thinking_tokens"`
	} `json:"output_tokens_details"`
}

// canonical returns the usage in canonical form.
func (u *wireUsage) canonical() *lyumen.Usage {
	return usage(u.InputTokens, u.CacheCreationInputTokens, u.CacheReadInputTokens, u.OutputTokens, u.OutputTokensDetails.ThinkingTokens)
}

// usage is the canonical usage of Anthropic's counts. The prompt counts
// every input token, cached or not: input_tokens alone leaves out what the
// cache served, and what was written to it. The cached tokens are those
// read from the cache; those written to it have no canonical count of
// their own (no other upstream reports any). output_tokens counts the
// thinking too, which output_tokens_details.thinking_tokens (where sent)
// says how much of: the reasoning tokens.
func usage(input, cacheWrite, cacheRead, output, thinking int) *lyumen.Usage {
	prompt := input + cacheWrite + cacheRead
	return &lyumen.Usage{PromptTokens: prompt, CompletionTokens: output, TotalTokens: prompt + output,
		CachedTokens: cacheRead, ReasoningTokens: thinking}
}

// canonical returns the message as one choice: its text blocks joined, its
// thinking blocks' text joined as its reasoning, its tool_use blocks as
// tool calls. Server tool blocks have no canonical form; they reach an
// Anthropic client through Raw.
func (m *wireMessage) canonical() *lyumen.Response {
	resp := &lyumen.Response{ID: m.ID, Model: m.Model}
	msg := lyumen.Message{Role: "assistant"}
	var text, thinking strings.Builder
	for _, b := range m.Content {
		switch b.Type {
		case "text":
			text.WriteString(b.Text)
		case "thinking":
			thinking.WriteString(b.Thinking)
		case "tool_use":
			msg.ToolCalls = append(msg.ToolCalls, lyumen.ToolCall{
				Index: len(msg.ToolCalls), ID: b.ID, Type: "function", Name: b.Name, Arguments: compactInput(b.Input),
			})
		}
	}
	msg.Content, msg.Reasoning = text.String(), thinking.String()
	resp.Choices = []lyumen.Choice{{Message: msg, FinishReason: finishReason(m.StopReason)}}
	if m.Usage != nil {
		resp.Usage = m.Usage.canonical()
	}
	return resp
}

// compactInput returns a tool_use input as canonical arguments: compact
// JSON, {} when absent.
func compactInput(input json.RawMessage) string {
	var buf bytes.Buffer
	if json.Compact(&buf, input) != nil || buf.Len() == 0 || buf.String() == "null" {
		return "{}"
	}
	return buf.String()
}

// outMessageResponse is the message body a client receives.
type outMessageResponse struct {
	ID           string    `json:"id"`
	Type         string    `json:"type"`
	Role         string    `json:"role"`
	Model        string    `json:"model"`
	Content      []any     `json:"content"`
	StopReason   *string   `json:"stop_reason"`
	StopSequence *string   `json:"stop_sequence"`
	Usage        *outUsage `json:"usage"`
}

// outUsage is a usage as Anthropic counts it: input_tokens leaves out the
// tokens read from the cache, which cache_read_input_tokens counts, so
// the two add up to the canonical prompt. A translated answer comes from
// an upstream that reports no cache writes, so there is no
// cache_creation_input_tokens; those an Anthropic upstream reports reach
// an Anthropic client only as sent (Raw), and are in input_tokens here.
// The cached and thinking counts are left out when zero (unknown), as the
// SDKs read them as optional.
type outUsage struct {
	InputTokens          int `json:"input_tokens"`
	CacheReadInputTokens int `json:"cache_read_input_tokens,omitempty"`
	OutputTokens         int `json:"output_tokens"`
	OutputTokensDetails  struct {
		ThinkingTokens int `json:"thinking_tokens"`
	} `json:"output_tokens_details,omitzero"`
}

func usageOf(u *lyumen.Usage) *outUsage {
	out := &outUsage{}
	if u != nil {
		out.InputTokens, out.CacheReadInputTokens, out.OutputTokens = u.PromptTokens-u.CachedTokens, u.CachedTokens, u.CompletionTokens
		out.OutputTokensDetails.ThinkingTokens = u.ReasoningTokens
	}
	return out
}

// choice returns the first choice of resp (Anthropic has no n), or an
// empty one.
func choice(resp *lyumen.Response) lyumen.Choice {
	for _, c := range resp.Choices {
		if c.Index == 0 {
			return c
		}
	}
	return lyumen.Choice{Message: lyumen.Message{Role: "assistant"}}
}

// EncodeMessage renders a canonical response as a /v1/messages message, for
// providers that do not speak this wire format: the text as a text block,
// tool calls as tool_use blocks, the finish reason as a stop_reason. model
// is the name the client asked for, used when the upstream named none. A
// response already in this format (Raw) is returned as it is.
func EncodeMessage(resp *lyumen.Response, model string) []byte {
	if resp.Raw != nil {
		return resp.Raw
	}
	c := choice(resp)
	out := outMessageResponse{ID: messageID(resp.ID), Type: "message", Role: "assistant", Model: model,
		Content: []any{}, Usage: usageOf(resp.Usage)}
	if resp.Model != "" {
		out.Model = resp.Model
	}
	if text := c.Message.Text(); text != "" {
		out.Content = append(out.Content, textBlock{Type: "text", Text: text})
	}
	for i, tc := range c.Message.ToolCalls {
		out.Content = append(out.Content, toolUseBlock{Type: "tool_use", ID: toolUseID(tc.ID, i), Name: tc.Name, Input: inputOf(tc.Arguments)})
	}
	sr := stopReason(&c)
	out.StopReason = &sr
	if b, ok := appendMessage(make([]byte, 0, 384), &out); ok {
		return b
	}
	b, _ := json.Marshal(out) // cannot fail: plain types and valid raw JSON only
	return b
}

// appendMessage appends m as json.Marshal renders it when its content is
// text, the commonest translated answer, without reflection; ok is false
// for anything else (tool_use blocks).
func appendMessage(dst []byte, m *outMessageResponse) ([]byte, bool) {
	dst = append(dst, `{"id":`...)
	dst = jsontext.AppendString(dst, m.ID)
	dst = append(dst, `,"type":`...)
	dst = jsontext.AppendString(dst, m.Type)
	dst = append(dst, `,"role":`...)
	dst = jsontext.AppendString(dst, m.Role)
	dst = append(dst, `,"model":`...)
	dst = jsontext.AppendString(dst, m.Model)
	dst = append(dst, `,"content":`...)
	if m.Content == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i, c := range m.Content {
			tb, ok := c.(textBlock)
			if !ok {
				return nil, false
			}
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"type":`...)
			dst = jsontext.AppendString(dst, tb.Type)
			dst = append(dst, `,"text":`...)
			dst = jsontext.AppendString(dst, tb.Text)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"stop_reason":`...)
	dst = appendStringPtr(dst, m.StopReason)
	dst = append(dst, `,"stop_sequence":`...)
	dst = appendStringPtr(dst, m.StopSequence)
	dst = append(dst, `,"usage":`...)
	if u := m.Usage; u == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, `{"input_tokens":`...)
		dst = strconv.AppendInt(dst, int64(u.InputTokens), 10)
		if u.CacheReadInputTokens != 0 {
			dst = append(dst, `,"cache_read_input_tokens":`...)
			dst = strconv.AppendInt(dst, int64(u.CacheReadInputTokens), 10)
		}
		dst = append(dst, `,"output_tokens":`...)
		dst = strconv.AppendInt(dst, int64(u.OutputTokens), 10)
		if n := u.OutputTokensDetails.ThinkingTokens; n != 0 {
			dst = append(dst, `,"output_tokens_details":{"thinking_tokens":`...)
			dst = append(strconv.AppendInt(dst, int64(n), 10), '}')
		}
		dst = append(dst, '}')
	}
	return append(dst, '}'), true
}

func appendStringPtr(dst []byte, s *string) []byte {
	if s == nil {
		return append(dst, "null"...)
	}
	return jsontext.AppendString(dst, *s)
}

// inputOf returns a model's tool call arguments as a tool_use input, which
// must be a JSON object: arguments that are not one (a model's broken JSON)
// become {}, and the record keeps them as they were.
func inputOf(args string) json.RawMessage {
	b := bytes.TrimSpace([]byte(args))
	if len(b) == 0 || b[0] != '{' || !json.Valid(b) {
		return json.RawMessage("{}")
	}
	var buf bytes.Buffer
	_ = json.Compact(&buf, b) // valid: checked above
	return buf.Bytes()
}
