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
	Model         *string
	Messages      *[]chatMessage
	Stream        *bool
	IncludeUsage  *bool // stream_options.include_usage
	StreamOptions map[string]json.RawMessage
	N             *int
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
	Type string `json:"type"`
	Text string `json:"text"`
}

var roles = map[string]bool{"system": true, "developer": true, "user": true, "assistant": true, "tool": true, "function": true}

// DecodeChat parses and validates a /v1/chat/completions body. Errors are
// *lyumen.Error of kind KindInvalid with OpenAI-style messages.
func DecodeChat(body []byte) (*lyumen.Request, error) {
	// Keys are matched exactly, as the upstream will match them:
	// encoding/json matches struct fields case-insensitively, so {"N": 1}
	// would hide an "n" the upstream obeys.
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, decodeError(err, "")
	}
	if fields == nil {
		return nil, &lyumen.Error{Kind: lyumen.KindInvalid, Message: "the request body must be a JSON object"}
	}
	// A repeated key is refused: the gateway would read the last copy and
	// rewrite the first, and the upstream might read either.
	if k := duplicateKey(body, "model", "messages", "stream", "stream_options", "n"); k != "" {
		return nil, &lyumen.Error{Kind: lyumen.KindInvalid, Param: k, Message: fmt.Sprintf("duplicate key '%s' in the request body", k)}
	}
	if k := duplicateKey(fields["stream_options"], "include_usage"); k != "" {
		return nil, &lyumen.Error{Kind: lyumen.KindInvalid, Param: "stream_options." + k,
			Message: fmt.Sprintf("duplicate key 'stream_options.%s' in the request body", k)}
	}
	var cr chatRequest
	for _, f := range []struct {
		key string
		dst any
	}{
		{"model", &cr.Model}, {"messages", &cr.Messages}, {"stream", &cr.Stream},
		{"stream_options", &cr.StreamOptions}, {"n", &cr.N},
	} {
		if raw, ok := fields[f.key]; ok {
			if err := json.Unmarshal(raw, f.dst); err != nil {
				return nil, decodeError(err, f.key)
			}
		}
	}
	if raw, ok := cr.StreamOptions["include_usage"]; ok {
		if err := json.Unmarshal(raw, &cr.IncludeUsage); err != nil {
			return nil, decodeError(err, "stream_options.include_usage")
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
	return &lyumen.Request{
		Surface:      lyumen.SurfaceOpenAIChat,
		Model:        *cr.Model,
		Stream:       cr.Stream != nil && *cr.Stream,
		IncludeUsage: cr.IncludeUsage != nil && *cr.IncludeUsage,
		Body:         body,
		Messages:     msgs,
	}, nil
}

func canonicalMessage(m chatMessage) (lyumen.Message, error) {
	msg := lyumen.Message{Role: m.Role, Name: m.Name, ToolCallID: m.ToolCallID}
	for i, tc := range m.ToolCalls {
		msg.ToolCalls = append(msg.ToolCalls, lyumen.ToolCall{
			Index: i, ID: tc.ID, Type: tc.Type, Name: tc.Function.Name, Arguments: tc.Function.Arguments,
		})
	}
	c := bytes.TrimSpace(m.Content)
	switch {
	case len(c) == 0 || string(c) == "null":
	case c[0] == '"':
		if err := json.Unmarshal(c, &msg.Content); err != nil {
			return msg, err
		}
	case c[0] == '[':
		var parts []contentPart
		if err := json.Unmarshal(c, &parts); err != nil {
			return msg, err
		}
		var text strings.Builder
		other := false
		for _, p := range parts {
			if p.Type == "text" {
				text.WriteString(p.Text)
			} else {
				other = true
			}
		}
		msg.Content = text.String()
		if other {
			msg.Parts = json.RawMessage(c)
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
			Message: fmt.Sprintf("invalid type for '%s': expected %s, but got %s instead", field, typeName(te.Type.Kind().String()), te.Value), Err: err}
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
