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
	if !p.Eat('{') {
		return cr, nil, false
	}
	if p.Eat('}') {
		return cr, nil, p.End()
	}
	seen := jsonscan.NewSeen(chatKeys[:])
	for {
		key, ok := p.Key()
		if !ok {
			return cr, nil, false
		}
		if seen.Repeated(key) {
			return cr, nil, false
		}
		switch key {
		case "model":
			if p.Null() {
				break
			}
			m, ok := p.Text()
			if !ok {
				return cr, nil, false
			}
			cr.Model = &m
		case "messages":
			if p.Null() {
				break
			}
			msgs, ok := readMessages(&p, body)
			if !ok {
				return cr, nil, false
			}
			cr.Messages = &msgs
		case "stream":
			if cr.Stream, ok = p.BoolOrNull(); !ok {
				return cr, nil, false
			}
		case "stream_options":
			if !p.Null() && !readStreamOptions(&p, body, &cr) {
				return cr, nil, false
			}
		case "n", "max_tokens", "max_completion_tokens", "seed":
			n, ok := p.IntOrNull()
			if !ok {
				return cr, nil, false
			}
			switch {
			case n == nil:
			case key == "seed":
				cr.Seed = n
			default:
				v := int(*n)
				switch key {
				case "n":
					cr.N = &v
				case "max_tokens":
					cr.MaxTokens = &v
				default:
					cr.MaxCompletionTokens = &v
				}
			}
		case "temperature":
			if cr.Temperature, ok = p.FloatOrNull(); !ok {
				return cr, nil, false
			}
		case "top_p":
			if cr.TopP, ok = p.FloatOrNull(); !ok {
				return cr, nil, false
			}
		case "tool_choice", "stop", "response_format":
			raw, ok := p.Raw(body)
			if !ok {
				return cr, nil, false
			}
			switch key {
			case "tool_choice":
				cr.ToolChoice = raw
			case "stop":
				cr.Stop = raw
			default:
				responseFormat = raw
			}
		case "tools":
			return cr, nil, false
		default:
			if !p.Value(0) {
				return cr, nil, false
			}
		}
		if p.Eat('}') {
			return cr, responseFormat, p.End()
		}
		if !p.Eat(',') {
			return cr, nil, false
		}
	}
}

// chatKeys are the keys chatFields reads: the fast path leaves a repeated
// one to it.
var chatKeys = [...]string{"model", "messages", "stream", "stream_options", "n", "max_tokens",
	"max_completion_tokens", "seed", "temperature", "top_p", "tool_choice", "stop", "response_format", "tools"}

// readMessages reads an array of messages that have a role, text content or
// null, and perhaps a name; nothing else.
func readMessages(p *jsonscan.Scanner, body []byte) ([]chatMessage, bool) {
	if !p.Eat('[') {
		return nil, false
	}
	msgs := []chatMessage{} // encoding/json makes [] an empty slice, not nil
	if p.Eat(']') {
		return msgs, true
	}
	for {
		var m chatMessage
		if !p.Eat('{') {
			return nil, false
		}
		if !p.Eat('}') {
			for {
				key, ok := p.Key()
				if !ok {
					return nil, false
				}
				switch key {
				case "role":
					if m.Role, ok = p.Text(); !ok {
						return nil, false
					}
				case "name":
					if m.Name, ok = p.Text(); !ok {
						return nil, false
					}
				case "content":
					if m.Content, ok = p.Raw(body); !ok || m.Content[0] != '"' && string(m.Content) != "null" {
						return nil, false
					}
				default:
					// encoding/json matches struct fields without regard to
					// case, so any other key may fill one.
					return nil, false
				}
				if p.Eat('}') {
					break
				}
				if !p.Eat(',') {
					return nil, false
				}
			}
		}
		msgs = append(msgs, m)
		if p.Eat(']') {
			return msgs, true
		}
		if !p.Eat(',') {
			return nil, false
		}
	}
}

// readStreamOptions reads stream_options: its members as raw values, and
// include_usage, which must be a boolean or null.
func readStreamOptions(p *jsonscan.Scanner, body []byte, cr *chatRequest) bool {
	if !p.Eat('{') {
		return false
	}
	cr.StreamOptions = map[string]json.RawMessage{}
	if p.Eat('}') {
		return true
	}
	for {
		key, ok := p.Key()
		if !ok || !utf8.ValidString(key) {
			return false
		}
		if _, dup := cr.StreamOptions[key]; dup {
			return false
		}
		raw, ok := p.Raw(body)
		if !ok {
			return false
		}
		cr.StreamOptions[key] = raw
		if key == "include_usage" {
			switch string(raw) {
			case "true":
				t := true
				cr.IncludeUsage = &t
			case "false":
				f := false
				cr.IncludeUsage = &f
			case "null":
			default:
				return false
			}
		}
		if p.Eat('}') {
			return true
		}
		if !p.Eat(',') {
			return false
		}
	}
}

// plainString returns the value of a JSON string that has no escapes, is
// valid UTF-8 and has no control characters: its bytes between the quotes.
func plainString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	s := raw[1 : len(raw)-1]
	for _, c := range s {
		if c < 0x20 || c == '"' || c == '\\' {
			return "", false
		}
	}
	if !utf8.Valid(s) {
		return "", false
	}
	return string(s), true
}
