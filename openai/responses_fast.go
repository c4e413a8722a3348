package openai

import (
	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/jsonscan"
)

// fastResponsesFields is responsesFields for the requests SDKs send most:
// input as a string or as messages of a role and text content,
// instructions, and scalar options. It reads them in one pass without
// reflection, the input messages included (into InputMessages), where the
// general path decodes a map, each field, and then each input item, with
// encoding/json. On anything else (tools, function calls, content parts,
// text.format, previous_response_id and the other stateful features, an
// escaped key or string, a repeated key, anything malformed) it returns ok
// false and responsesFields decides, so errors keep encoding/json's
// wording. FuzzFastResponses checks that whatever it accepts,
// responsesFields and responsesInput read the same.
func fastResponsesFields(body []byte) (rr responsesRequest, ok bool) {
	p := jsonscan.New(string(body)) // the strings kept share this one copy
	if !p.Eat('{') {
		return rr, false
	}
	if p.Eat('}') {
		return rr, p.End()
	}
	seen := jsonscan.NewSeen(responsesKeys[:])
	for {
		key, ok := p.Key()
		if !ok {
			return rr, false
		}
		if seen.Repeated(key) {
			return rr, false
		}
		switch key {
		case "model":
			if p.Null() {
				break
			}
			m, ok := p.Text()
			if !ok {
				return rr, false
			}
			rr.Model = &m
		case "input":
			// Input is read here or not at all: null, [] and other shapes
			// are refused or read by responsesInput.
			if rr.InputMessages, ok = readResponsesInput(&p); !ok {
				return rr, false
			}
		case "instructions", "tool_choice":
			// Kept raw, as responsesFields keeps them, for the checks
			// that follow.
			raw, ok := p.Raw(body)
			if !ok {
				return rr, false
			}
			if key == "instructions" {
				rr.Instructions = raw
			} else {
				rr.ToolChoice = raw
			}
		case "stream":
			if rr.Stream, ok = p.BoolOrNull(); !ok {
				return rr, false
			}
		case "temperature":
			if rr.Temperature, ok = p.FloatOrNull(); !ok {
				return rr, false
			}
		case "top_p":
			if rr.TopP, ok = p.FloatOrNull(); !ok {
				return rr, false
			}
		case "max_output_tokens":
			n, ok := p.IntOrNull()
			if !ok {
				return rr, false
			}
			if n != nil {
				v := int(*n)
				rr.MaxOutputTokens = &v
			}
		case "tools":
			switch {
			case p.Null():
			case p.Eat('[') && p.Eat(']'):
				rr.Tools = []responsesTool{} // encoding/json makes [] an empty slice, not nil
			default:
				return rr, false
			}
		case "conversation", "prompt":
			// Only null, which the checks let through; responsesFields
			// keeps it raw.
			raw, ok := p.Raw(body)
			if !ok || string(raw) != "null" {
				return rr, false
			}
			if key == "conversation" {
				rr.Conversation = raw
			} else {
				rr.Prompt = raw
			}
		case "previous_response_id", "background", "text", "top_logprobs":
			// Only null, which leaves them nil.
			if !p.Null() {
				return rr, false
			}
		default:
			if !p.Value(0) {
				return rr, false
			}
		}
		if p.Eat('}') {
			return rr, p.End()
		}
		if !p.Eat(',') {
			return rr, false
		}
	}
}

// responsesKeys are the keys responsesFields reads: the fast path leaves a
// repeated one to it, which refuses some and reads the last of others.
var responsesKeys = [...]string{"model", "input", "instructions", "stream", "tools", "tool_choice",
	"max_output_tokens", "temperature", "top_p", "previous_response_id", "conversation", "prompt",
	"background", "text", "top_logprobs"}

// readResponsesInput reads input as responsesInput would, if it is a string
// or a non-empty array of messages; nothing else.
func readResponsesInput(p *jsonscan.Scanner) ([]lyumen.Message, bool) {
	switch p.Peek() {
	case '"':
		text, ok := p.Text()
		if !ok {
			return nil, false
		}
		return []lyumen.Message{{Role: "user", Content: text}}, true
	case '[':
		p.Eat('[')
	default:
		return nil, false
	}
	var msgs []lyumen.Message
	for {
		m, ok := readInputMessage(p)
		if !ok {
			return nil, false
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

// readInputMessage reads a message item with a role, text content or
// null, and perhaps its type, "message"; each key once, and no other key.
func readInputMessage(p *jsonscan.Scanner) (lyumen.Message, bool) {
	var m lyumen.Message
	if !p.Eat('{') || p.Eat('}') {
		return m, false // {} has no role, which responsesInput refuses
	}
	var seenType, seenContent bool
	for {
		key, ok := p.Key()
		if !ok {
			return m, false
		}
		switch key {
		case "type":
			t, ok := p.StringOrNull()
			if !ok || seenType || t != "message" && t != "" {
				return m, false
			}
			seenType = true
		case "role":
			r, ok := p.Str()
			if !ok || m.Role != "" {
				return m, false
			}
			if m.Role, ok = responsesRoles[r]; !ok {
				return m, false
			}
		case "content":
			if seenContent {
				return m, false
			}
			seenContent = true
			if p.Null() {
				break
			}
			if m.Content, ok = p.Text(); !ok {
				return m, false
			}
		default:
			// encoding/json matches struct fields without regard to
			// case, so any other key may fill one.
			return m, false
		}
		if p.Eat('}') {
			return m, m.Role != ""
		}
		if !p.Eat(',') {
			return m, false
		}
	}
}
