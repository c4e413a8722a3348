package anthropic

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/jsonscan"
)

// fastMessagesFields is messagesFields for the requests SDKs send most: a
// system prompt, messages of text (a string or text blocks), and scalar
// options. It reads them in one pass without reflection; encoding/json's
// maps and per-field decoding were most of what decoding a request cost.
// It accepts only bodies that messagesFields accepts: on anything else
// (tools, other blocks, an escaped key, a repeated key, a value that fails
// a check such as an empty model or a system role, anything malformed) it
// returns ok false and messagesFields decides, so errors keep their
// wording and their order. FuzzFastMessagesFields checks that whatever it
// accepts, messagesFields reads the same.
func fastMessagesFields(body []byte, needMaxTokens bool) (mr messagesRequest, ok bool) {
	p := jsonscan.New(string(body)) // the strings kept share this one copy
	if !p.Eat('{') || p.Eat('}') {
		return mr, false // {} has no model
	}
	seen := jsonscan.NewSeen(messagesKeys[:])
	hasMaxTokens, hasMessages := false, false
	for {
		key, ok := p.Key()
		if !ok {
			return mr, false
		}
		if seen.Repeated(key) {
			return mr, false
		}
		switch key {
		case "model":
			if mr.Model, ok = readString(&p); !ok || mr.Model == "" {
				return mr, false
			}
		case "stream": // not BoolOrNull, whose *bool costs an allocation
			switch {
			case p.Literal("true"):
				mr.Stream = true
			case p.Literal("false"), p.Null():
			default:
				return mr, false
			}
		case "max_tokens":
			if !needMaxTokens { // count_tokens ignores it
				if !p.Value(0) {
					return mr, false
				}
				break
			}
			// As encoding/json reads an int: no fraction or exponent.
			s, ok := p.NumberText()
			n, err := strconv.ParseInt(s, 10, 0)
			if !ok || err != nil || n < 1 {
				return mr, false
			}
			mr.MaxTokens, hasMaxTokens = int(n), true
		case "temperature":
			if mr.Temperature, ok = p.FloatOrNull(); !ok {
				return mr, false
			}
		case "top_p":
			if mr.TopP, ok = p.FloatOrNull(); !ok {
				return mr, false
			}
		case "stop_sequences":
			if mr.Stop, ok = readStrings(&p); !ok {
				return mr, false
			}
		case "system":
			sys, ok := readSystem(&p)
			if !ok {
				return mr, false
			}
			// The system prompt leads the messages, wherever it is written.
			if hasMessages {
				mr.Messages = slices.Insert(mr.Messages, 0, sys...)
			} else {
				mr.Messages = sys
			}
		case "messages":
			if mr.Messages, ok = readMessages(&p, mr.Messages); !ok {
				return mr, false
			}
			hasMessages = true
		case "tools", "tool_choice", "output_config", "output_format":
			// Only null, kept as written; the rest is messagesFields' to read.
			raw, ok := p.Raw(body)
			if !ok || string(raw) != "null" {
				return mr, false
			}
			switch key {
			case "tools":
				mr.Tools = raw
			case "tool_choice":
				mr.ToolChoice = raw
			case "output_config":
				mr.OutputConfig = raw
			default:
				mr.OutputFormat = raw
			}
		default:
			if !p.Value(0) {
				return mr, false
			}
		}
		if p.Eat('}') {
			break
		}
		if !p.Eat(',') {
			return mr, false
		}
	}
	return mr, p.End() && mr.Model != "" && hasMessages && (hasMaxTokens || !needMaxTokens)
}

// messagesKeys are the top-level keys messagesFields reads: the fast path
// leaves a repeated one to it, which refuses some and reads the last copy
// of others.
var messagesKeys = [...]string{"model", "stream", "max_tokens", "temperature", "top_p", "stop_sequences",
	"system", "messages", "tools", "tool_choice", "output_config", "output_format"}

// readString reads a JSON string's value. One with escapes or invalid
// UTF-8 is decoded by encoding/json, whose rules (surrogates, U+FFFD) are
// the general path's.
func readString(p *jsonscan.Scanner) (string, bool) {
	raw, ok := p.RawString()
	if !ok {
		return "", false
	}
	if strings.IndexByte(raw, '\\') < 0 && utf8.ValidString(raw) {
		return raw[1 : len(raw)-1], true
	}
	var s string
	return s, json.Unmarshal([]byte(raw), &s) == nil
}

// readStrings reads stop_sequences: null, or a list of strings. A null in
// the list, which encoding/json reads as "", is left to it.
func readStrings(p *jsonscan.Scanner) ([]string, bool) {
	if p.Null() {
		return nil, true
	}
	if !p.Eat('[') {
		return nil, false
	}
	list := []string{} // encoding/json makes [] an empty slice, not nil
	if p.Eat(']') {
		return list, true
	}
	for {
		s, ok := readString(p)
		if !ok {
			return nil, false
		}
		list = append(list, s)
		if p.Eat(']') {
			return list, true
		}
		if !p.Eat(',') {
			return nil, false
		}
	}
}

// readSystem reads the system prompt as decodeSystem does: null, a string
// ("" is none), or a list of text blocks, one message each.
func readSystem(p *jsonscan.Scanner) ([]lyumen.Message, bool) {
	switch p.Peek() {
	case 'n':
		return nil, p.Null()
	case '"':
		s, ok := readString(p)
		if !ok || s == "" {
			return nil, ok
		}
		return []lyumen.Message{{Role: "system", Content: s}}, true
	}
	if !p.Eat('[') {
		return nil, false
	}
	var msgs []lyumen.Message
	if p.Eat(']') {
		return msgs, true
	}
	for {
		text, ok := readTextBlock(p)
		if !ok {
			return nil, false
		}
		msgs = append(msgs, lyumen.Message{Role: "system", Content: text})
		if p.Eat(']') {
			return msgs, true
		}
		if !p.Eat(',') {
			return nil, false
		}
	}
}

// readMessages reads a list of messages, appending them to msgs; an empty
// list is an error, left to messagesFields. Each has
// the role user or assistant and text content; any other key is skipped,
// as decodeMessage ignores it.
func readMessages(p *jsonscan.Scanner, msgs []lyumen.Message) ([]lyumen.Message, bool) {
	if !p.Eat('[') || p.Eat(']') {
		return nil, false
	}
	for {
		var m lyumen.Message
		if !p.Eat('{') || p.Eat('}') {
			return nil, false
		}
		hasRole, hasContent := false, false
		for {
			key, ok := p.Key()
			if !ok {
				return nil, false
			}
			switch key {
			case "role":
				if m.Role, ok = readString(p); hasRole || !ok || m.Role != "user" && m.Role != "assistant" {
					return nil, false
				}
				hasRole = true
			case "content":
				if m.Content, m.Parts, ok = readContent(p); hasContent || !ok {
					return nil, false
				}
				hasContent = true
			default:
				if !p.Value(0) {
					return nil, false
				}
			}
			if p.Eat('}') {
				break
			}
			if !p.Eat(',') {
				return nil, false
			}
		}
		if !hasRole || !hasContent {
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

// readContent reads a message's content, a string or a list of text blocks,
// as decodeMessage and withParts keep it: one block is plain content,
// several keep their parts.
func readContent(p *jsonscan.Scanner) (string, []lyumen.Part, bool) {
	if p.Peek() == '"' {
		s, ok := readString(p)
		return s, nil, ok
	}
	if !p.Eat('[') {
		return "", nil, false
	}
	if p.Eat(']') {
		return "", nil, true
	}
	var parts []lyumen.Part
	for {
		text, ok := readTextBlock(p)
		if !ok {
			return "", nil, false
		}
		parts = append(parts, lyumen.Part{Type: lyumen.PartText, Text: text})
		if p.Eat(']') {
			break
		}
		if !p.Eat(',') {
			return "", nil, false
		}
	}
	if len(parts) == 1 {
		return parts[0].Text, nil, true
	}
	return "", parts, true
}

// readTextBlock reads {"type":"text","text":…}. Other keys (cache_control,
// citations) are skipped, as the general path ignores them.
func readTextBlock(p *jsonscan.Scanner) (string, bool) {
	if !p.Eat('{') || p.Eat('}') {
		return "", false
	}
	var text string
	hasType, hasText := false, false
	for {
		key, ok := p.Key()
		if !ok {
			return "", false
		}
		switch key {
		case "type":
			typ, ok := readString(p)
			if hasType || !ok || typ != "text" {
				return "", false
			}
			hasType = true
		case "text":
			if text, ok = readString(p); hasText || !ok {
				return "", false
			}
			hasText = true
		default:
			if !p.Value(0) {
				return "", false
			}
		}
		if p.Eat('}') {
			return text, hasType && hasText
		}
		if !p.Eat(',') {
			return "", false
		}
	}
}
