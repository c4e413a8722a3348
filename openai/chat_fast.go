package openai

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/lyumen/lyumen/internal/jsonscan"
)

// fastChatFields is chatFields for the requests SDKs send most: messages
// of a role, text content and perhaps a name, and scalar options. It reads
// them in one pass without reflection; encoding/json's map and per-field
// decoding were most of what decoding a request cost. On anything else
// (tools, content parts, tool calls, an escaped key or model name, a
// repeated key, anything malformed) it returns ok false and chatFields
// decides, so errors keep encoding/json's wording. FuzzFastChatFields
// checks that whatever it accepts, chatFields reads the same.
func fastChatFields(body []byte) (cr chatRequest, responseFormat json.RawMessage, ok bool) {
	p := jsonscan.New(string(body)) // the strings kept share this one copy
	seen := jsonscan.NewSeen(chatKeys[:])
	ok = p.Object(func(key string) bool {
		if seen.Repeated(key) {
			return false
		}
		switch key {
		case "model", "reasoning_effort":
			if p.Null() {
				return true
			}
			v, ok := p.Text()
			if key == "model" {
				cr.Model = &v
			} else {
				cr.ReasoningEffort = &v
			}
			return ok
		case "messages":
			if p.Null() {
				return true
			}
			msgs, ok := readMessages(&p, body)
			cr.Messages = &msgs
			return ok
		case "stream", "parallel_tool_calls", "logprobs":
			b, ok := p.BoolOrNull()
			switch key {
			case "stream":
				cr.Stream = b
			case "logprobs":
				cr.Logprobs = b
			default:
				cr.ParallelToolCalls = b
			}
			return ok
		case "stream_options":
			return p.Null() || readStreamOptions(&p, body, &cr)
		case "n", "max_tokens", "max_completion_tokens", "seed", "top_logprobs":
			n, null, ok := p.IntOrNull()
			switch {
			case !ok || null:
			case key == "seed":
				seed := n
				cr.Seed = &seed
			default:
				v := int(n)
				switch key {
				case "n":
					cr.N = &v
				case "max_tokens":
					cr.MaxTokens = &v
				case "top_logprobs":
					cr.TopLogprobs = &v
				default:
					cr.MaxCompletionTokens = &v
				}
			}
			return ok
		case "temperature", "top_p", "frequency_penalty", "presence_penalty":
			f, ok := p.FloatOrNull()
			switch key {
			case "temperature":
				cr.Temperature = f
			case "top_p":
				cr.TopP = f
			case "frequency_penalty":
				cr.FrequencyPenalty = f
			default:
				cr.PresencePenalty = f
			}
			return ok
		case "tool_choice", "stop", "response_format":
			raw, ok := p.Raw(body)
			switch key {
			case "tool_choice":
				cr.ToolChoice = raw
			case "stop":
				cr.Stop = raw
			default:
				responseFormat = raw
			}
			return ok
		case "tools":
			return false
		}
		return p.Value(0)
	})
	return cr, responseFormat, ok && p.End()
}

// chatKeys are the keys chatFields reads: the fast path leaves a repeated
// one to it.
var chatKeys = [...]string{"model", "messages", "stream", "stream_options", "n", "max_tokens",
	"max_completion_tokens", "seed", "temperature", "top_p", "tool_choice", "stop", "response_format", "tools",
	"parallel_tool_calls", "reasoning_effort", "frequency_penalty", "presence_penalty", "logprobs", "top_logprobs"}

// readMessages reads an array of messages that have a role, text content or
// null, and perhaps a name; nothing else.
func readMessages(p *jsonscan.Scanner, body []byte) ([]chatMessage, bool) {
	msgs := []chatMessage{} // encoding/json makes [] an empty slice, not nil
	ok := p.Array(func() bool {
		var m chatMessage
		ok := p.Object(func(key string) bool {
			var ok bool
			switch key {
			case "role":
				m.Role, ok = p.Text()
			case "name":
				m.Name, ok = p.Text()
			case "content":
				m.Content, ok = p.Raw(body)
				ok = ok && (m.Content[0] == '"' || string(m.Content) == "null")
			}
			// Any other key is refused: encoding/json matches struct
			// fields without regard to case, so it may fill one.
			return ok
		})
		msgs = append(msgs, m)
		return ok
	})
	return msgs, ok
}

// readStreamOptions reads stream_options: its members as raw values, and
// include_usage, which must be a boolean or null.
func readStreamOptions(p *jsonscan.Scanner, body []byte, cr *chatRequest) bool {
	cr.StreamOptions = map[string]json.RawMessage{}
	return p.Object(func(key string) bool {
		if _, dup := cr.StreamOptions[key]; dup || !utf8.ValidString(key) {
			return false
		}
		raw, ok := p.Raw(body)
		if !ok {
			return false
		}
		cr.StreamOptions[key] = raw
		if key == "include_usage" {
			switch string(raw) {
			case "true", "false":
				v := string(raw) == "true"
				cr.IncludeUsage = &v
			case "null":
			default:
				return false
			}
		}
		return true
	})
}

// plainString returns the value of a JSON string that has no escapes, is
// valid UTF-8 and has no control characters: its bytes between the quotes.
func plainString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	s := raw[1 : len(raw)-1]
	if !jsonscan.Plain(s) || !utf8.Valid(s) {
		return "", false
	}
	return string(s), true
}
