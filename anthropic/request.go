package anthropic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/jsontext"
)

// messagesBody is a /v1/messages request built from the canonical form,
// for clients that arrived on another surface.
type messagesBody struct {
	Model         string         `json:"model"`
	MaxTokens     int            `json:"max_tokens"`
	System        any            `json:"system,omitempty"` // string or []textBlock
	Messages      []outMessage   `json:"messages"`
	Stream        bool           `json:"stream,omitempty"`
	StopSequences []string       `json:"stop_sequences,omitempty"`
	Temperature   *float64       `json:"temperature,omitempty"`
	TopP          *float64       `json:"top_p,omitempty"`
	Tools         []outTool      `json:"tools,omitempty"`
	ToolChoice    *outToolChoice `json:"tool_choice,omitempty"`
	OutputConfig  *outputConfig  `json:"output_config,omitempty"`
}

// outputConfig asks for structured outputs (generally available; the beta's
// output_format needed a header).
type outputConfig struct {
	Format outFormat `json:"format"`
}

type outFormat struct {
	Type   string          `json:"type"`
	Schema json.RawMessage `json:"schema"`
}

type outMessage struct {
	Role    string `json:"role"`
	Content any    `json:"content"` // string or []any of the blocks below
}

type textBlock struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type imageBlock struct {
	Type   string      `json:"type"`
	Source imageSource `json:"source"`
}

type imageSource struct {
	Type      string `json:"type"` // base64 or url
	MediaType string `json:"media_type,omitempty"`
	Data      string `json:"data,omitempty"`
	URL       string `json:"url,omitempty"`
}

type toolUseBlock struct {
	Type  string          `json:"type"`
	ID    string          `json:"id"`
	Name  string          `json:"name"`
	Input json.RawMessage `json:"input"`
}

type toolResultBlock struct {
	Type      string `json:"type"`
	ToolUseID string `json:"tool_use_id"`
	Content   any    `json:"content,omitempty"` // string or []any of text and image blocks
}

type outTool struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"input_schema"`
}

type outToolChoice struct {
	Type                   string `json:"type"`
	Name                   string `json:"name,omitempty"`
	DisableParallelToolUse bool   `json:"disable_parallel_tool_use,omitempty"`
}

// emptySchema is the input schema of a tool that declared none: Anthropic
// requires one, of type object.
var emptySchema = json.RawMessage(`{"type":"object"}`)

// EncodeRequest renders the canonical request as a /v1/messages body.
// System messages become the top-level system prompt (a string, or text
// blocks when there are several), consecutive tool results one user message
// of tool_result blocks, and a request without a length limit gets
// DefaultMaxTokens. Content it cannot express is a KindInvalid error that
// names it. Sampling is fitted to what Anthropic takes: a temperature
// above 1 (OpenAI's clients may send up to 2) is 1, and with a temperature
// top_p is left out, since its current models refuse the two together;
// stop sequences of whitespace alone, which it refuses, are left out.
func EncodeRequest(req *lyumen.Request) ([]byte, error) {
	if req.Untranslated != nil {
		return nil, req.Untranslated
	}
	b := messagesBody{Model: req.Model, MaxTokens: req.MaxTokens, Stream: req.Stream,
		StopSequences: stopSequences(req.Stop), Temperature: req.Temperature, TopP: req.TopP}
	if b.MaxTokens <= 0 {
		b.MaxTokens = DefaultMaxTokens
	}
	if t := b.Temperature; t != nil && *t > 1 {
		b.Temperature = new(1.0)
	}
	if b.Temperature != nil {
		b.TopP = nil
	}
	if req.N > 1 {
		return nil, lyumen.Unsupported("%d answers per request cannot be asked of this model's provider, which gives one: send %d requests", req.N, req.N)
	}
	if f := req.Format; f != nil {
		if f.Type != lyumen.FormatJSONSchema || len(f.Schema) == 0 {
			return nil, lyumen.Unsupported("JSON mode without a schema cannot be asked of this model's provider, whose structured outputs follow a JSON Schema: send a response format of type json_schema")
		}
		b.OutputConfig = &outputConfig{Format: outFormat{Type: f.Type, Schema: f.Schema}}
	}
	var system []textBlock
	for i := 0; i < len(req.Messages); i++ {
		m := &req.Messages[i]
		switch m.Role {
		case "system":
			if m.Parts != nil && !onlyText(m.Parts) {
				return nil, lyumen.Unsupported("a system message with images cannot be sent to this model's provider: Anthropic's system prompt is text only")
			}
			system = append(system, textBlock{Type: "text", Text: m.Text()})
		case "tool":
			// Consecutive tool results answer one assistant turn: they go
			// back as one user message.
			var results []any
			for ; i < len(req.Messages) && req.Messages[i].Role == "tool"; i++ {
				r, err := toolResult(&req.Messages[i])
				if err != nil {
					return nil, err
				}
				results = append(results, r)
			}
			i--
			b.Messages = append(b.Messages, outMessage{Role: "user", Content: results})
		case "user", "assistant":
			out, err := message(m)
			if err != nil {
				return nil, err
			}
			b.Messages = append(b.Messages, out)
		default:
			return nil, lyumen.Unsupported("messages of role '%s' cannot be sent to this model's provider", lyumen.Clip(m.Role))
		}
	}
	switch len(system) {
	case 0:
	case 1:
		b.System = system[0].Text
	default:
		b.System = system
	}
	if b.Messages == nil {
		b.Messages = []outMessage{}
	}
	for _, t := range req.Tools {
		if strings.Contains(t.Name, ":") {
			// A tool built into another provider ("anthropic:web_search_…"
			// is kept that way): function names cannot hold a colon.
			return nil, lyumen.Unsupported("the built-in tool '%s' cannot be sent to this model's provider", lyumen.Clip(t.Name))
		}
		schema := t.Parameters
		if len(bytes.TrimSpace(schema)) == 0 || string(schema) == "null" {
			schema = emptySchema
		}
		// A function's strict is not sent: OpenAI's SDK helpers set it by
		// default, and Claude models before 4.5 refuse it.
		b.Tools = append(b.Tools, outTool{Name: t.Name, Description: t.Description, InputSchema: schema})
	}
	if tc := req.ToolChoice; tc != nil {
		switch tc.Mode {
		case "auto", "none":
			b.ToolChoice = &outToolChoice{Type: tc.Mode}
		case "required":
			b.ToolChoice = &outToolChoice{Type: "any"}
		case "tool":
			b.ToolChoice = &outToolChoice{Type: "tool", Name: tc.Name}
		default:
			return nil, lyumen.Unsupported("tool choice '%s' cannot be sent to this model's provider", lyumen.Clip(tc.Mode))
		}
	}
	// Anthropic says it in tool_choice, so one is sent when the client gave
	// none; only with tools, as tool_choice needs them, and not with "none",
	// which has no such field.
	if req.NoParallelToolCalls && len(b.Tools) > 0 {
		if b.ToolChoice == nil {
			b.ToolChoice = &outToolChoice{Type: "auto"}
		}
		b.ToolChoice.DisableParallelToolUse = b.ToolChoice.Type != "none"
	}
	if body, ok := appendMessagesBody(make([]byte, 0, 512), &b); ok {
		return body, nil
	}
	body, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encode messages request: %w", err)
	}
	return body, nil
}

// appendMessagesBody appends b as json.Marshal renders it when it is a
// conversation of text with scalar options, the commonest translated
// request, without reflection; ok is false for anything else (tools,
// content blocks, an output format).
func appendMessagesBody(dst []byte, b *messagesBody) ([]byte, bool) {
	if len(b.Tools) > 0 || b.ToolChoice != nil || b.OutputConfig != nil {
		return nil, false
	}
	dst = append(dst, `{"model":`...)
	dst = jsontext.AppendString(dst, b.Model)
	dst = append(dst, `,"max_tokens":`...)
	dst = strconv.AppendInt(dst, int64(b.MaxTokens), 10)
	switch sys := b.System.(type) {
	case nil:
	case string:
		dst = append(dst, `,"system":`...)
		dst = jsontext.AppendString(dst, sys)
	case []textBlock:
		if sys == nil {
			return nil, false
		}
		dst = append(dst, `,"system":[`...)
		for i := range sys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"type":`...)
			dst = jsontext.AppendString(dst, sys[i].Type)
			dst = append(dst, `,"text":`...)
			dst = jsontext.AppendString(dst, sys[i].Text)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	default:
		return nil, false
	}
	dst = append(dst, `,"messages":`...)
	if b.Messages == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i := range b.Messages {
			text, ok := b.Messages[i].Content.(string)
			if !ok {
				return nil, false
			}
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"role":`...)
			dst = jsontext.AppendString(dst, b.Messages[i].Role)
			dst = append(dst, `,"content":`...)
			dst = jsontext.AppendString(dst, text)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	if b.Stream {
		dst = append(dst, `,"stream":true`...)
	}
	if len(b.StopSequences) > 0 {
		dst = jsontext.AppendStrings(append(dst, `,"stop_sequences":`...), b.StopSequences)
	}
	if b.Temperature != nil {
		dst = append(dst, `,"temperature":`...)
		dst = jsontext.AppendFloat(dst, *b.Temperature)
	}
	if b.TopP != nil {
		dst = append(dst, `,"top_p":`...)
		dst = jsontext.AppendFloat(dst, *b.TopP)
	}
	return append(dst, '}'), true
}

func onlyText(parts []lyumen.Part) bool {
	for _, p := range parts {
		if p.Type != lyumen.PartText {
			return false
		}
	}
	return true
}

// message renders a user or assistant message: plain text as a string,
// anything more as content blocks, tool calls as tool_use blocks.
func message(m *lyumen.Message) (outMessage, error) {
	out := outMessage{Role: m.Role}
	if m.Parts == nil && len(m.ToolCalls) == 0 {
		out.Content = m.Content
		return out, nil
	}
	var blocks []any
	var err error
	if m.Parts != nil {
		if blocks, err = contentBlocks(m.Parts); err != nil {
			return out, err
		}
	} else if m.Content != "" {
		blocks = append(blocks, textBlock{Type: "text", Text: m.Content})
	}
	for i, tc := range m.ToolCalls {
		input, err := toolInput(tc)
		if err != nil {
			return out, err
		}
		blocks = append(blocks, toolUseBlock{Type: "tool_use", ID: toolUseID(tc.ID, i), Name: tc.Name, Input: input})
	}
	out.Content = blocks
	return out, nil
}

// contentBlocks renders text and image parts.
func contentBlocks(parts []lyumen.Part) ([]any, error) {
	blocks := make([]any, 0, len(parts))
	for _, p := range parts {
		switch p.Type {
		case lyumen.PartText:
			blocks = append(blocks, textBlock{Type: "text", Text: p.Text})
		case lyumen.PartImage:
			src := imageSource{Type: "url", URL: p.URL}
			if p.URL == "" {
				src = imageSource{Type: "base64", MediaType: p.MediaType, Data: p.Data}
			}
			blocks = append(blocks, imageBlock{Type: "image", Source: src})
		default:
			return nil, lyumen.Unsupported("content of type '%s' cannot be sent to this model's provider", lyumen.Clip(p.Type))
		}
	}
	return blocks, nil
}

// toolInput reads a tool call's arguments as the JSON object Anthropic
// requires; no arguments are {}.
func toolInput(tc lyumen.ToolCall) (json.RawMessage, error) {
	args := bytes.TrimSpace([]byte(tc.Arguments))
	if len(args) == 0 {
		return json.RawMessage("{}"), nil
	}
	if args[0] != '{' || !json.Valid(args) {
		return nil, lyumen.Unsupported(
			"the arguments of the call to tool '%s' are not a JSON object, which this model's provider requires", lyumen.Clip(tc.Name))
	}
	return args, nil
}

func toolResult(m *lyumen.Message) (toolResultBlock, error) {
	r := toolResultBlock{Type: "tool_result", ToolUseID: m.ToolCallID}
	switch {
	case m.Parts != nil:
		blocks, err := contentBlocks(m.Parts)
		if err != nil {
			return r, err
		}
		r.Content = blocks
	case m.Content != "":
		r.Content = m.Content
	}
	return r, nil
}

// stopSequences is stop without the sequences Anthropic refuses, those of
// whitespace alone ("\n" is a common one from OpenAI's clients); nil when
// none is left.
func stopSequences(stop []string) []string {
	var out []string
	for i, s := range stop {
		if strings.TrimSpace(s) == "" {
			if out == nil {
				out = append(make([]string, 0, len(stop)), stop[:i]...)
			}
			continue
		}
		if out != nil {
			out = append(out, s)
		}
	}
	switch {
	case out == nil:
		return stop
	case len(out) == 0:
		return nil
	}
	return out
}
