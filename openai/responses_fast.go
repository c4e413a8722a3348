package openai

import (
	"strings"

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
	seen := jsonscan.NewSeen(responsesKeys[:])
	ok = p.Object(func(key string) bool {
		if seen.Repeated(key) {
			return false
		}
		var ok bool
		switch key {
		case "model":
			if p.Null() {
				return true
			}
			m, ok := p.Text()
			rr.Model = &m
			return ok
		case "input":
			// Input is read here or not at all: null, [] and other shapes
			// are refused or read by responsesInput.
			rr.InputMessages, ok = readResponsesInput(&p)
		case "instructions", "tool_choice":
			// Kept raw, as responsesFields keeps them, for the checks
			// that follow.
			var raw []byte
			raw, ok = p.Raw(body)
			if key == "instructions" {
				rr.Instructions = raw
			} else {
				rr.ToolChoice = raw
			}
		case "stream":
			rr.Stream, ok = p.BoolOrNull()
		case "parallel_tool_calls":
			rr.ParallelToolCalls, ok = p.BoolOrNull()
		case "temperature":
			rr.Temperature, ok = p.FloatOrNull()
		case "top_p":
			rr.TopP, ok = p.FloatOrNull()
		case "max_output_tokens":
			var n int64
			var null bool
			if n, null, ok = p.IntOrNull(); ok && !null {
				v := int(n)
				rr.MaxOutputTokens = &v
			}
		case "tools":
			switch {
			case p.Null():
				ok = true
			case p.Eat('[') && p.Eat(']'):
				rr.Tools, ok = []responsesTool{}, true // encoding/json makes [] an empty slice, not nil
			}
		case "conversation", "prompt":
			// Only null, which the checks let through; responsesFields
			// keeps it raw.
			var raw []byte
			raw, ok = p.Raw(body)
			ok = ok && string(raw) == "null"
			if key == "conversation" {
				rr.Conversation = raw
			} else {
				rr.Prompt = raw
			}
		case "reasoning":
			if p.Null() {
				return true
			}
			rr.Reasoning = &responsesReasoning{}
			ok = p.Object(func(k string) bool {
				switch {
				case k == "effort":
					if p.Null() {
						rr.Reasoning.Effort = nil
						return true
					}
					e, ok := p.Text()
					rr.Reasoning.Effort = &e
					return ok
				case strings.EqualFold(k, "effort"): // encoding/json would take it too
					return false
				}
				return p.Value(0)
			})
		case "previous_response_id", "background", "text", "top_logprobs":
			ok = p.Null() // only null, which leaves them nil
		default:
			ok = p.Value(0)
		}
		return ok
	})
	return rr, ok && p.End()
}

// responsesKeys are the keys responsesFields reads: the fast path leaves a
// repeated one to it, which refuses some and reads the last of others.
var responsesKeys = [...]string{"model", "input", "instructions", "stream", "tools", "tool_choice",
	"max_output_tokens", "temperature", "top_p", "previous_response_id", "conversation", "prompt",
	"background", "text", "top_logprobs", "parallel_tool_calls", "reasoning"}

// readResponsesInput reads input as responsesInput would, if it is a string
// or a non-empty array of messages; nothing else.
func readResponsesInput(p *jsonscan.Scanner) ([]lyumen.Message, bool) {
	if p.Peek() == '"' {
		text, ok := p.Text()
		return []lyumen.Message{{Role: "user", Content: text}}, ok
	}
	var msgs []lyumen.Message
	ok := p.Array(func() bool {
		m, ok := readInputMessage(p)
		msgs = append(msgs, m)
		return ok
	})
	return msgs, ok && len(msgs) > 0 // [] is refused by responsesInput
}

// readInputMessage reads a message item with a role, text content or
// null, and perhaps its type, "message"; each key once, and no other key.
func readInputMessage(p *jsonscan.Scanner) (lyumen.Message, bool) {
	var m lyumen.Message
	var seenType, seenContent bool
	ok := p.Object(func(key string) bool {
		switch key {
		case "type":
			t, ok := p.StringOrNull()
			ok = ok && !seenType && (t == "message" || t == "")
			seenType = true
			return ok
		case "role":
			r, ok := p.Str()
			if !ok || m.Role != "" {
				return false
			}
			m.Role, ok = responsesRoles[r]
			return ok
		case "content":
			if seenContent {
				return false
			}
			seenContent = true
			if p.Null() {
				return true
			}
			var ok bool
			m.Content, ok = p.Text()
			return ok
		}
		// Any other key is refused: encoding/json matches struct fields
		// without regard to case, so it may fill one.
		return false
	})
	return m, ok && m.Role != "" // {} has no role, which responsesInput refuses
}
