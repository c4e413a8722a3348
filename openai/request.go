package openai

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/jsontext"
)

// chatBody is a chat completions request built from the canonical form,
// for clients that arrived on another surface.
type chatBody struct {
	Model            string          `json:"model"`
	Messages         []outMessage    `json:"messages"`
	Stream           bool            `json:"stream,omitempty"`
	StreamOptions    *streamOptions  `json:"stream_options,omitempty"`
	MaxTokens        int             `json:"max_tokens,omitempty"`
	MaxCompletion    int             `json:"max_completion_tokens,omitempty"`
	Temperature      *float64        `json:"temperature,omitempty"`
	TopP             *float64        `json:"top_p,omitempty"`
	FrequencyPenalty *float64        `json:"frequency_penalty,omitempty"`
	PresencePenalty  *float64        `json:"presence_penalty,omitempty"`
	Stop             []string        `json:"stop,omitempty"`
	Tools            []wireTool      `json:"tools,omitempty"`
	ToolChoice       json.RawMessage `json:"tool_choice,omitempty"`
	N                int             `json:"n,omitempty"`
	Seed             *int64          `json:"seed,omitempty"`
	Format           *wireFormat     `json:"response_format,omitempty"`

	// ParallelToolCalls is only ever false: true is the default.
	ParallelToolCalls *bool  `json:"parallel_tool_calls,omitempty"`
	ReasoningEffort   string `json:"reasoning_effort,omitempty"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type outMessage struct {
	Role       string         `json:"role"`
	Content    any            `json:"content"` // string, []contentPart or nil
	Name       string         `json:"name,omitempty"`
	ToolCalls  []wireToolCall `json:"tool_calls,omitempty"`
	ToolCallID string         `json:"tool_call_id,omitempty"`
}

// toolImageNote stands in a tool result that was images alone, which the
// user message after the results carries.
const toolImageNote = "[the result is the image in the next message]"

// EncodeChatRequest renders the canonical request as a chat completions
// body, its answer's limit in max_completion_tokens, as OpenAI's API takes
// it. Content it cannot express is a KindInvalid error naming it. The
// images of tool results go in a user message after them, the only role
// whose messages OpenAI lets hold images.
func EncodeChatRequest(req *lyumen.Request) ([]byte, error) {
	return encodeChat(req, MaxCompletionTokens)
}

// encodeChat is EncodeChatRequest with the answer's limit in field.
func encodeChat(req *lyumen.Request, field LimitField) ([]byte, error) {
	if req.Untranslated != nil {
		return nil, req.Untranslated
	}
	b := chatBody{Model: req.Model, Stream: req.Stream, Temperature: req.Temperature, TopP: req.TopP,
		FrequencyPenalty: req.FrequencyPenalty, PresencePenalty: req.PresencePenalty,
		Stop: req.Stop, Seed: req.Seed, Format: encodeChatFormat(req.Format)}
	if field == MaxTokens {
		b.MaxTokens = req.MaxTokens
	} else {
		b.MaxCompletion = req.MaxTokens
	}
	if req.N > 1 {
		b.N = req.N
	}
	if req.Stream {
		b.StreamOptions = &streamOptions{IncludeUsage: true}
	}
	// The images of the tool results just rendered: OpenAI takes images in
	// user messages only, so they follow the run of tool results in one
	// (a user message between two results would split the calls' answers).
	var toolImages []contentPart
	for _, m := range req.Messages {
		if m.Role == "assistant" {
			m = *m.WithoutThinking()
		}
		if m.Role != "tool" && len(toolImages) > 0 {
			b.Messages = append(b.Messages, outMessage{Role: "user", Content: toolImages})
			toolImages = nil
		}
		out := outMessage{Role: m.Role, Name: m.Name, ToolCallID: m.ToolCallID, ToolCalls: wireToolCalls(m.ToolCalls, false)}
		for i := range out.ToolCalls {
			if out.ToolCalls[i].Type == "" {
				out.ToolCalls[i].Type = "function"
			}
		}
		switch {
		case m.Parts != nil:
			parts := make([]contentPart, 0, len(m.Parts))
			labelled := false
			for _, p := range m.Parts {
				switch p.Type {
				case lyumen.PartText:
					parts = append(parts, contentPart{Type: "text", Text: p.Text})
				case lyumen.PartImage:
					cp := contentPart{Type: "image_url"}
					cp.ImageURL = &struct {
						URL    string `json:"url"`
						Detail string `json:"detail,omitempty"`
					}{URL: imageURL(p)}
					if m.Role == "tool" {
						if !labelled { // which call's result, when several bring images
							toolImages = append(toolImages, contentPart{Type: "text", Text: "The result of " + m.ToolCallID + ":"})
							labelled = true
						}
						toolImages = append(toolImages, cp)
						continue
					}
					parts = append(parts, cp)
				default:
					return nil, lyumen.Errorf(lyumen.KindInvalid, "content of type '%s' cannot be sent to this model's provider", lyumen.Clip(p.Type))
				}
			}
			if len(parts) == 0 && m.Role == "tool" {
				parts = append(parts, contentPart{Type: "text", Text: toolImageNote})
			}
			out.Content = parts
		case m.Content != "" || len(m.ToolCalls) == 0:
			out.Content = m.Content
		}
		b.Messages = append(b.Messages, out)
	}
	if len(toolImages) > 0 {
		b.Messages = append(b.Messages, outMessage{Role: "user", Content: toolImages})
	}
	for _, t := range req.Tools {
		if strings.Contains(t.Name, ":") { // another API's built-in tool, kept by type only
			return nil, lyumen.Errorf(lyumen.KindInvalid, "the built-in tool '%s' cannot be sent to this model's provider", lyumen.Clip(t.Name))
		}
		var wt wireTool
		wt.Type = "function"
		wt.Function.Name, wt.Function.Description, wt.Function.Parameters, wt.Function.Strict = t.Name, t.Description, t.Parameters, t.Strict
		b.Tools = append(b.Tools, wt)
	}
	// Without tools, "auto" and "none" mean what no tool_choice means, and
	// OpenAI refuses a tool_choice without tools (an Anthropic or Responses
	// client may send one). Any other mode goes, for the upstream to say
	// what is wrong with it.
	if tc := req.ToolChoice; tc != nil && (len(b.Tools) > 0 || tc.Mode != "auto" && tc.Mode != "none") {
		switch tc.Mode {
		case "tool":
			b.ToolChoice, _ = json.Marshal(map[string]any{"type": "function", "function": map[string]string{"name": tc.Name}})
		default:
			b.ToolChoice, _ = json.Marshal(tc.Mode)
		}
	}
	if req.NoParallelToolCalls && len(b.Tools) > 0 { // OpenAI refuses it without tools
		b.ParallelToolCalls = new(bool)
	}
	b.ReasoningEffort = req.ReasoningEffort
	if body, ok := appendChatBody(make([]byte, 0, 512), &b); ok {
		return body, nil
	}
	body, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encode chat request: %w", err)
	}
	return body, nil
}

// appendChatBody appends b as json.Marshal renders it when it is a
// conversation of text with scalar options, the commonest translated
// request, without reflection; ok is false for anything else (tools, tool
// calls, content parts, a response format).
func appendChatBody(dst []byte, b *chatBody) ([]byte, bool) {
	if len(b.Tools) > 0 || len(b.ToolChoice) > 0 || b.Format != nil || b.ReasoningEffort != "" {
		return nil, false
	}
	dst = append(dst, `{"model":`...)
	dst = jsontext.AppendString(dst, b.Model)
	dst = append(dst, `,"messages":`...)
	if b.Messages == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i := range b.Messages {
			m := &b.Messages[i]
			if len(m.ToolCalls) > 0 {
				return nil, false
			}
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"role":`...)
			dst = jsontext.AppendString(dst, m.Role)
			dst = append(dst, `,"content":`...)
			switch c := m.Content.(type) {
			case nil:
				dst = append(dst, "null"...)
			case string:
				dst = jsontext.AppendString(dst, c)
			default:
				return nil, false
			}
			if m.Name != "" {
				dst = append(dst, `,"name":`...)
				dst = jsontext.AppendString(dst, m.Name)
			}
			if m.ToolCallID != "" {
				dst = append(dst, `,"tool_call_id":`...)
				dst = jsontext.AppendString(dst, m.ToolCallID)
			}
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	if b.Stream {
		dst = append(dst, `,"stream":true`...)
	}
	if o := b.StreamOptions; o != nil {
		dst = append(dst, `,"stream_options":{"include_usage":`...)
		dst = strconv.AppendBool(dst, o.IncludeUsage)
		dst = append(dst, '}')
	}
	if b.MaxTokens != 0 {
		dst = append(dst, `,"max_tokens":`...)
		dst = strconv.AppendInt(dst, int64(b.MaxTokens), 10)
	}
	if b.MaxCompletion != 0 {
		dst = append(dst, `,"max_completion_tokens":`...)
		dst = strconv.AppendInt(dst, int64(b.MaxCompletion), 10)
	}
	if b.Temperature != nil {
		dst = append(dst, `,"temperature":`...)
		dst = jsontext.AppendFloat(dst, *b.Temperature)
	}
	if b.TopP != nil {
		dst = append(dst, `,"top_p":`...)
		dst = jsontext.AppendFloat(dst, *b.TopP)
	}
	if b.FrequencyPenalty != nil {
		dst = append(dst, `,"frequency_penalty":`...)
		dst = jsontext.AppendFloat(dst, *b.FrequencyPenalty)
	}
	if b.PresencePenalty != nil {
		dst = append(dst, `,"presence_penalty":`...)
		dst = jsontext.AppendFloat(dst, *b.PresencePenalty)
	}
	if len(b.Stop) > 0 {
		dst = jsontext.AppendStrings(append(dst, `,"stop":`...), b.Stop)
	}
	if b.N != 0 {
		dst = append(dst, `,"n":`...)
		dst = strconv.AppendInt(dst, int64(b.N), 10)
	}
	if b.Seed != nil {
		dst = append(dst, `,"seed":`...)
		dst = strconv.AppendInt(dst, *b.Seed, 10)
	}
	return append(dst, '}'), true
}
