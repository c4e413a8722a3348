package anthropic

import (
	"encoding/json"
	"slices"
	"strconv"

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
	seen := jsonscan.NewSeen(messagesKeys[:])
	hasMaxTokens, hasMessages := false, false
	ok = p.Object(func(key string) bool {
		if seen.Repeated(key) {
			return false
		}
		var ok bool
		switch key {
		case "model":
			mr.Model, ok = readString(&p)
		case "stream": // not BoolOrNull, whose *bool costs an allocation
			switch {
			case p.Literal("true"):
				mr.Stream, ok = true, true
			case p.Literal("false"), p.Null():
				ok = true
			}
		case "max_tokens":
			if !needMaxTokens { // count_tokens ignores it
				return p.Value(0)
			}
			// As encoding/json reads an int: no fraction or exponent.
			s, ok := p.NumberText()
			n, err := strconv.ParseInt(s, 10, 0)
			mr.MaxTokens, hasMaxTokens = int(n), true
			return ok && err == nil && n >= 1
		case "temperature":
			mr.Temperature, ok = p.FloatOrNull()
		case "top_p":
			mr.TopP, ok = p.FloatOrNull()
		case "top_k":
			if p.Null() {
				return true
			}
			// As encoding/json reads an int, like max_tokens.
			s, ok := p.NumberText()
			n, err := strconv.ParseInt(s, 10, 0)
			k := int(n)
			mr.TopK = &k
			return ok && err == nil
		case "stop_sequences":
			mr.Stop, ok = readStrings(&p)
		case "system":
			var sys []lyumen.Message
			sys, ok = readSystem(&p)
			// The system prompt leads the messages, wherever it is written.
			if hasMessages {
				mr.Messages = slices.Insert(mr.Messages, 0, sys...)
			} else {
				mr.Messages = sys
			}
		case "messages":
			mr.Messages, ok = readMessages(&p, mr.Messages)
			hasMessages = true
		case "tools", "tool_choice", "output_config", "output_format":
			// Only null, kept as written; the rest is messagesFields' to read.
			var raw []byte
			raw, ok = p.Raw(body)
			ok = ok && string(raw) == "null"
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
		case "thinking": // kept as written, for decode to read
			mr.Thinking, ok = p.Raw(body)
		default:
			ok = p.Value(0)
		}
		return ok
	})
	return mr, ok && p.End() && mr.Model != "" && hasMessages && (hasMaxTokens || !needMaxTokens)
}

// messagesKeys are the top-level keys messagesFields reads: the fast path
// leaves a repeated one to it, which refuses some and reads the last copy
// of others.
var messagesKeys = [...]string{"model", "stream", "max_tokens", "temperature", "top_p", "top_k", "stop_sequences",
	"system", "messages", "tools", "tool_choice", "output_config", "output_format", "thinking"}

// readString reads a JSON string's value. One with escapes other than
// chat text's, or invalid UTF-8, is decoded by encoding/json, whose rules
// (surrogates, U+FFFD) are the general path's.
func readString(p *jsonscan.Scanner) (string, bool) {
	raw, ok := p.RawString()
	if !ok {
		return "", false
	}
	if s, ok := jsonscan.Unquote(raw); ok {
		return s, true
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
	list := []string{} // encoding/json makes [] an empty slice, not nil
	ok := p.Array(func() bool {
		s, ok := readString(p)
		list = append(list, s)
		return ok
	})
	return list, ok
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
	var msgs []lyumen.Message
	ok := p.Array(func() bool {
		text, ok := readTextBlock(p)
		msgs = append(msgs, lyumen.Message{Role: "system", Content: text})
		return ok
	})
	return msgs, ok
}

// readMessages reads a list of messages, appending them to msgs; an empty
// list is an error, left to messagesFields. Each has
// the role user or assistant and text content; any other key is skipped,
// as decodeMessage ignores it.
func readMessages(p *jsonscan.Scanner, msgs []lyumen.Message) ([]lyumen.Message, bool) {
	n := len(msgs)
	ok := p.Array(func() bool {
		var m lyumen.Message
		hasRole, hasContent := false, false
		ok := p.Object(func(key string) bool {
			var ok bool
			switch key {
			case "role":
				m.Role, ok = readString(p)
				ok = ok && !hasRole && (m.Role == "user" || m.Role == "assistant")
				hasRole = true
			case "content":
				m.Content, m.Parts, ok = readContent(p)
				ok = ok && !hasContent
				hasContent = true
			default:
				ok = p.Value(0)
			}
			return ok
		})
		msgs = append(msgs, m)
		return ok && hasRole && hasContent
	})
	return msgs, ok && len(msgs) > n // an empty list is messagesFields' to refuse
}

// readContent reads a message's content, a string or a list of text blocks,
// as decodeMessage and withParts keep it: one block is plain content,
// several keep their parts.
func readContent(p *jsonscan.Scanner) (string, []lyumen.Part, bool) {
	if p.Peek() == '"' {
		s, ok := readString(p)
		return s, nil, ok
	}
	var parts []lyumen.Part
	ok := p.Array(func() bool {
		text, ok := readTextBlock(p)
		parts = append(parts, lyumen.Part{Type: lyumen.PartText, Text: text})
		return ok
	})
	if len(parts) == 1 {
		return parts[0].Text, nil, ok
	}
	return "", parts, ok
}

// readTextBlock reads {"type":"text","text":…}. Other keys (cache_control,
// citations) are skipped, as the general path ignores them.
func readTextBlock(p *jsonscan.Scanner) (string, bool) {
	var text string
	hasType, hasText := false, false
	ok := p.Object(func(key string) bool {
		var ok bool
		switch key {
		case "type":
			var typ string
			typ, ok = readString(p)
			ok = ok && !hasType && typ == "text"
			hasType = true
		case "text":
			text, ok = readString(p)
			ok = ok && !hasText
			hasText = true
		default:
			ok = p.Value(0)
		}
		return ok
	})
	return text, ok && hasType && hasText
}
