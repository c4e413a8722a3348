// Package openai speaks the OpenAI wire format both ways: it decodes and
// encodes the client-facing chat surface, and its Client is a Provider for
// any OpenAI-compatible upstream (OpenAI, OpenRouter, Groq, vLLM, Ollama,
// llama.cpp, ...).
package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/lyumen/lyumen"
)

// chatRequest holds the fields the gateway reads. Everything else in the
// body passes through to the upstream untouched.
type chatRequest struct {
	Model               *string
	Messages            *[]chatMessage
	Stream              *bool
	IncludeUsage        *bool // stream_options.include_usage
	StreamOptions       map[string]json.RawMessage
	N                   *int
	Tools               []wireTool
	ToolChoice          json.RawMessage
	ParallelToolCalls   *bool
	MaxTokens           *int
	MaxCompletionTokens *int
	Temperature         *float64
	TopP                *float64
	FrequencyPenalty    *float64
	PresencePenalty     *float64
	Stop                json.RawMessage
	Seed                *int64
	ReasoningEffort     *string
	Logprobs            *bool
	TopLogprobs         *int
}

type wireTool struct {
	Type     string `json:"type"`
	Function struct {
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		Parameters  json.RawMessage `json:"parameters,omitempty"`
		Strict      *bool           `json:"strict,omitempty"`
	} `json:"function"`
}

type chatMessage struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	Name       string          `json:"name"`
	ToolCalls  []wireToolCall  `json:"tool_calls"`
	ToolCallID string          `json:"tool_call_id"`
}

type wireToolCall struct {
	Index    *int   `json:"index,omitempty"`
	ID       string `json:"id,omitempty"`
	Type     string `json:"type,omitempty"`
	Function struct {
		Name      string `json:"name,omitempty"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

type contentPart struct {
	Type     string `json:"type"`
	Text     string `json:"text,omitempty"`
	ImageURL *struct {
		URL    string `json:"url"`
		Detail string `json:"detail,omitempty"`
	} `json:"image_url,omitempty"`
}

var roles = map[string]bool{"system": true, "developer": true, "user": true, "assistant": true, "tool": true, "function": true}

// DecodeChat parses and validates a /v1/chat/completions body. Errors are
// *lyumen.Error of kind KindInvalid with OpenAI-style messages.
func DecodeChat(body []byte) (*lyumen.Request, error) {
	cr, responseFormat, ok := fastChatFields(body)
	if !ok {
		var err error
		if cr, responseFormat, err = chatFields(body); err != nil {
			return nil, err
		}
	}
	switch {
	case cr.Model == nil || *cr.Model == "":
		return nil, &lyumen.Error{Kind: lyumen.KindInvalid, Param: "model", Message: "you must provide a model parameter"}
	case cr.Messages == nil:
		return nil, &lyumen.Error{Kind: lyumen.KindInvalid, Param: "messages", Message: "missing required parameter: 'messages'"}
	case len(*cr.Messages) == 0:
		return nil, &lyumen.Error{Kind: lyumen.KindInvalid, Param: "messages", Message: "'messages' must contain at least one message"}
	case cr.N != nil && (*cr.N < 1 || *cr.N > 128):
		return nil, &lyumen.Error{Kind: lyumen.KindInvalid, Param: "n", Message: "'n' must be between 1 and 128"}
	}
	msgs := make([]lyumen.Message, len(*cr.Messages))
	for i, m := range *cr.Messages {
		if !roles[m.Role] {
			return nil, &lyumen.Error{Kind: lyumen.KindInvalid, Param: fmt.Sprintf("messages[%d].role", i),
				Message: fmt.Sprintf("invalid value for 'messages[%d].role': must be one of system, developer, user, assistant, tool", i)}
		}
		msg, err := canonicalMessage(m)
		if err != nil {
			return nil, &lyumen.Error{Kind: lyumen.KindInvalid, Param: fmt.Sprintf("messages[%d].content", i),
				Message: fmt.Sprintf("invalid type for 'messages[%d].content': expected a string or an array of content parts", i)}
		}
		msgs[i] = msg
	}
	req := &lyumen.Request{
		Surface:      lyumen.SurfaceOpenAIChat,
		Model:        *cr.Model,
		Stream:       cr.Stream != nil && *cr.Stream,
		IncludeUsage: cr.IncludeUsage != nil && *cr.IncludeUsage,
		Body:         body,
		Messages:     msgs,
		Temperature:  cr.Temperature,
		TopP:         cr.TopP,

		FrequencyPenalty:    cr.FrequencyPenalty,
		PresencePenalty:     cr.PresencePenalty,
		NoParallelToolCalls: cr.ParallelToolCalls != nil && !*cr.ParallelToolCalls,
	}
	// max_completion_tokens wins over max_tokens, as at OpenAI; Client.body
	// then writes its limit into both, as upstreams differ in which they obey.
	for _, f := range []struct {
		key string
		v   *int
	}{{"max_tokens", cr.MaxTokens}, {"max_completion_tokens", cr.MaxCompletionTokens}} {
		if f.v == nil {
			continue
		}
		if *f.v < 0 {
			return nil, &lyumen.Error{Kind: lyumen.KindInvalid, Param: f.key, Message: fmt.Sprintf("'%s' must not be negative", f.key)}
		}
		req.MaxTokens = *f.v
	}
	for i, t := range cr.Tools {
		if t.Type != "function" && t.Type != "" {
			// OpenAI's own (custom tools): as written to an OpenAI-compatible
			// upstream, refused by the others.
			if req.Untranslated == nil {
				req.Untranslated = untranslatable(fmt.Sprintf("tools[%d].type", i),
					"tools of type '%s' cannot be translated for this model's provider: only function tools can", lyumen.Clip(t.Type))
			}
			continue
		}
		req.Tools = append(req.Tools, lyumen.Tool{Name: t.Function.Name, Description: t.Function.Description, Parameters: t.Function.Parameters, Strict: t.Function.Strict})
	}
	if cr.Logprobs != nil && *cr.Logprobs || cr.TopLogprobs != nil && *cr.TopLogprobs > 0 {
		if req.Untranslated == nil {
			req.Untranslated = untranslatable("logprobs", "'logprobs' cannot be translated for this model's provider, which reports none")
		}
	}
	if cr.N != nil {
		req.N = *cr.N
	}
	req.Seed = cr.Seed
	if cr.ReasoningEffort != nil {
		req.ReasoningEffort = *cr.ReasoningEffort
	}
	var err error
	if req.Format, err = chatFormat(responseFormat); err != nil {
		return nil, err
	}
	if t := gjson.GetBytes(cr.ToolChoice, "type").String(); t == "allowed_tools" || t == "custom" {
		if req.Untranslated == nil {
			req.Untranslated = untranslatable("tool_choice.type", "a tool_choice of type '%s' cannot be translated for this model's provider", t)
		}
	} else if req.ToolChoice, err = toolChoice(cr.ToolChoice); err != nil {
		return nil, err
	}
	if req.Stop, err = stopSequences(cr.Stop); err != nil {
		return nil, err
	}
	return req, nil
}

// chatFields reads the fields of a chat request body that the gateway
// uses, and the raw response_format, with encoding/json.
func chatFields(body []byte) (cr chatRequest, responseFormat json.RawMessage, err error) {
	// Keys are matched exactly, as the upstream will match them:
	// encoding/json matches struct fields case-insensitively, so {"N": 1}
	// would hide an "n" the upstream obeys.
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return cr, nil, decodeError(err, "")
	}
	if fields == nil {
		return cr, nil, &lyumen.Error{Kind: lyumen.KindInvalid, Message: "the request body must be a JSON object"}
	}
	// A repeated key is refused: the gateway would read the last copy and
	// rewrite the first, and the upstream might read either (a model's cap
	// on max tokens would miss the copy the upstream obeys).
	if k := duplicateKey(body, "model", "messages", "stream", "stream_options", "n", "max_tokens", "max_completion_tokens"); k != "" {
		return cr, nil, &lyumen.Error{Kind: lyumen.KindInvalid, Param: k, Message: fmt.Sprintf("duplicate key '%s' in the request body", k)}
	}
	if k := duplicateKey(fields["stream_options"], "include_usage"); k != "" {
		return cr, nil, &lyumen.Error{Kind: lyumen.KindInvalid, Param: "stream_options." + k,
			Message: fmt.Sprintf("duplicate key 'stream_options.%s' in the request body", k)}
	}
	for _, f := range []struct {
		key string
		dst any
	}{
		{"model", &cr.Model}, {"messages", &cr.Messages}, {"stream", &cr.Stream},
		{"stream_options", &cr.StreamOptions}, {"n", &cr.N}, {"tools", &cr.Tools},
		{"tool_choice", &cr.ToolChoice}, {"parallel_tool_calls", &cr.ParallelToolCalls}, {"max_tokens", &cr.MaxTokens},
		{"max_completion_tokens", &cr.MaxCompletionTokens}, {"temperature", &cr.Temperature},
		{"top_p", &cr.TopP}, {"frequency_penalty", &cr.FrequencyPenalty}, {"presence_penalty", &cr.PresencePenalty},
		{"stop", &cr.Stop}, {"seed", &cr.Seed}, {"reasoning_effort", &cr.ReasoningEffort},
		{"logprobs", &cr.Logprobs}, {"top_logprobs", &cr.TopLogprobs},
	} {
		if raw, ok := fields[f.key]; ok {
			if err := json.Unmarshal(raw, f.dst); err != nil {
				return cr, nil, decodeError(err, f.key)
			}
		}
	}
	if raw, ok := cr.StreamOptions["include_usage"]; ok {
		if err := json.Unmarshal(raw, &cr.IncludeUsage); err != nil {
			return cr, nil, decodeError(err, "stream_options.include_usage")
		}
	}
	return cr, fields["response_format"], nil
}

// toolChoice reads "auto" | "none" | "required" | {"type":"function","function":{"name":…}}.
func toolChoice(raw json.RawMessage) (*lyumen.ToolChoice, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var mode string
	if json.Unmarshal(raw, &mode) == nil {
		switch mode {
		case "auto", "none", "required":
			return &lyumen.ToolChoice{Mode: mode}, nil
		}
		return nil, &lyumen.Error{Kind: lyumen.KindInvalid, Param: "tool_choice",
			Message: fmt.Sprintf("invalid value for 'tool_choice': '%s' is not one of auto, none, required", lyumen.Clip(mode))}
	}
	var named struct {
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(raw, &named); err != nil || named.Function.Name == "" {
		return nil, &lyumen.Error{Kind: lyumen.KindInvalid, Param: "tool_choice",
			Message: "invalid value for 'tool_choice': expected a string or {\"type\": \"function\", \"function\": {\"name\": …}}"}
	}
	return &lyumen.ToolChoice{Mode: "tool", Name: named.Function.Name}, nil
}

// stopSequences reads a string or an array of strings.
func stopSequences(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, &lyumen.Error{Kind: lyumen.KindInvalid, Param: "stop",
			Message: "invalid type for 'stop': expected a string or an array of strings"}
	}
	return many, nil
}

// canonicalRole maps OpenAI's roles to the canonical four.
var canonicalRole = map[string]string{
	"system": "system", "developer": "system", "user": "user", "assistant": "assistant", "tool": "tool", "function": "tool",
}

func canonicalMessage(m chatMessage) (lyumen.Message, error) {
	msg := lyumen.Message{Role: canonicalRole[m.Role], Name: m.Name, ToolCallID: m.ToolCallID}
	if m.Role == "function" {
		msg.ToolCallID = m.Name // the legacy function role names its call by the function
	}
	for i, tc := range m.ToolCalls {
		msg.ToolCalls = append(msg.ToolCalls, lyumen.ToolCall{
			Index: i, ID: tc.ID, Type: tc.Type, Name: tc.Function.Name, Arguments: tc.Function.Arguments,
		})
	}
	c := bytes.TrimSpace(m.Content)
	switch {
	case len(c) == 0 || string(c) == "null":
	case c[0] == '"':
		if text, ok := plainString(c); ok {
			msg.Content = text // what json.Unmarshal would make of it, sooner
			break
		}
		if err := json.Unmarshal(c, &msg.Content); err != nil {
			return msg, err
		}
	case c[0] == '[':
		var parts []contentPart
		if err := json.Unmarshal(c, &parts); err != nil {
			return msg, err
		}
		onlyText := true
		for _, p := range parts {
			onlyText = onlyText && p.Type == "text"
		}
		if onlyText {
			var text strings.Builder
			for _, p := range parts {
				text.WriteString(p.Text)
			}
			msg.Content = text.String()
			break
		}
		msg.Parts = make([]lyumen.Part, 0, len(parts))
		for _, p := range parts {
			switch {
			case p.Type == "text":
				msg.Parts = append(msg.Parts, lyumen.Part{Type: lyumen.PartText, Text: p.Text})
			case p.Type == "image_url" && p.ImageURL != nil:
				msg.Parts = append(msg.Parts, ImagePart(p.ImageURL.URL))
			default:
				// Kept by type only: it passes through to OpenAI-compatible
				// upstreams, and other upstreams refuse it by name.
				msg.Parts = append(msg.Parts, lyumen.Part{Type: p.Type})
			}
		}
	default:
		return msg, errors.New("content is neither a string nor an array")
	}
	return msg, nil
}

// duplicateKey returns the first of keys that the JSON object obj holds
// more than once.
func duplicateKey(obj []byte, keys ...string) string {
	if len(obj) == 0 {
		return ""
	}
	var seen [8]string
	n, dup := 0, ""
	gjson.ParseBytes(obj).ForEach(func(k, _ gjson.Result) bool {
		if !slices.Contains(keys, k.Str) {
			return true
		}
		if slices.Contains(seen[:n], k.Str) {
			dup = k.Str
			return false
		}
		seen[n] = k.Str
		n++
		return true
	})
	return dup
}

// decodeError turns a JSON decoding error of the field key ("" for the
// whole body) into a client-safe message that names the offending field, as
// the OpenAI API does.
func decodeError(err error, key string) error {
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		field := key
		if te.Field != "" {
			field = joinField(key, te.Field)
		}
		if field == "" {
			return &lyumen.Error{Kind: lyumen.KindInvalid, Message: "the request body must be a JSON object", Err: err}
		}
		return &lyumen.Error{Kind: lyumen.KindInvalid, Param: field,
			Message: fmt.Sprintf("invalid type for '%s': expected %s, but got %s instead", field, typeName(te.Type.Kind().String()), lyumen.Clip(te.Value)), Err: err}
	}
	return &lyumen.Error{Kind: lyumen.KindInvalid,
		Message: "we could not parse the JSON body of your request: it is not valid JSON", Err: err}
}

// joinField writes a decoder's path ("0.role") under its key the way the
// OpenAI API names parameters ("messages[0].role").
func joinField(key, path string) string {
	var b strings.Builder
	b.WriteString(key)
	for part := range strings.SplitSeq(path, ".") {
		if part == "" {
			continue
		}
		if part[0] >= '0' && part[0] <= '9' {
			b.WriteString("[" + part + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(part)
	}
	return b.String()
}

func typeName(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	case "int", "int64", "float64":
		return "a number"
	case "ptr":
		return "a value"
	}
	return "a " + kind
}

// ImagePart reads an image address: a data: URL becomes inline data.
func ImagePart(url string) lyumen.Part {
	if rest, ok := strings.CutPrefix(url, "data:"); ok {
		if meta, data, ok := strings.Cut(rest, ","); ok {
			if mt, ok := strings.CutSuffix(meta, ";base64"); ok {
				return lyumen.Part{Type: lyumen.PartImage, MediaType: mt, Data: data}
			}
		}
	}
	return lyumen.Part{Type: lyumen.PartImage, URL: url}
}

// imageURL is the reverse of ImagePart.
func imageURL(p lyumen.Part) string {
	if p.URL != "" {
		return p.URL
	}
	return "data:" + p.MediaType + ";base64," + p.Data
}
