package openai

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/lyumen/lyumen"
)

// chatBody is a chat completions request built from the canonical form,
// for clients that arrived on another surface.
type chatBody struct {
	Model         string          `json:"model"`
	Messages      []outMessage    `json:"messages"`
	Stream        bool            `json:"stream,omitempty"`
	StreamOptions *streamOptions  `json:"stream_options,omitempty"`
	MaxTokens     int             `json:"max_completion_tokens,omitempty"`
	Temperature   *float64        `json:"temperature,omitempty"`
	TopP          *float64        `json:"top_p,omitempty"`
	Stop          []string        `json:"stop,omitempty"`
	Tools         []wireTool      `json:"tools,omitempty"`
	ToolChoice    json.RawMessage `json:"tool_choice,omitempty"`
	N             int             `json:"n,omitempty"`
	Seed          *int64          `json:"seed,omitempty"`
	Format        *wireFormat     `json:"response_format,omitempty"`
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

// EncodeChatRequest renders the canonical request as a chat completions
// body. Content it cannot express is a KindInvalid error naming it.
func EncodeChatRequest(req *lyumen.Request) ([]byte, error) {
	b := chatBody{Model: req.Model, Stream: req.Stream, MaxTokens: req.MaxTokens,
		Temperature: req.Temperature, TopP: req.TopP, Stop: req.Stop, Seed: req.Seed, Format: encodeChatFormat(req.Format)}
	if req.N > 1 {
		b.N = req.N
	}
	if req.Stream {
		b.StreamOptions = &streamOptions{IncludeUsage: true}
	}
	for _, m := range req.Messages {
		out := outMessage{Role: m.Role, Name: m.Name, ToolCallID: m.ToolCallID, ToolCalls: wireToolCalls(m.ToolCalls, false)}
		for i := range out.ToolCalls {
			if out.ToolCalls[i].Type == "" {
				out.ToolCalls[i].Type = "function"
			}
		}
		switch {
		case m.Parts != nil:
			parts := make([]contentPart, 0, len(m.Parts))
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
					parts = append(parts, cp)
				default:
					return nil, lyumen.Errorf(lyumen.KindInvalid, "content of type '%s' cannot be sent to this model's provider", p.Type)
				}
			}
			out.Content = parts
		case m.Content != "" || len(m.ToolCalls) == 0:
			out.Content = m.Content
		}
		b.Messages = append(b.Messages, out)
	}
	for _, t := range req.Tools {
		if strings.Contains(t.Name, ":") { // another API's built-in tool, kept by type only
			return nil, lyumen.Errorf(lyumen.KindInvalid, "the built-in tool '%s' cannot be sent to this model's provider", t.Name)
		}
		var wt wireTool
		wt.Type = "function"
		wt.Function.Name, wt.Function.Description, wt.Function.Parameters = t.Name, t.Description, t.Parameters
		b.Tools = append(b.Tools, wt)
	}
	if tc := req.ToolChoice; tc != nil {
		switch tc.Mode {
		case "tool":
			b.ToolChoice, _ = json.Marshal(map[string]any{"type": "function", "function": map[string]string{"name": tc.Name}})
		default:
			b.ToolChoice, _ = json.Marshal(tc.Mode)
		}
	}
	body, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encode chat request: %w", err)
	}
	return body, nil
}
