package pack

import (
	"encoding/json"
	"fmt"
	"slices"
	"unsafe"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/jsonscan"
)

// Reading for export: a dataset needs a record's conversation and response,
// not its request body or attempts, and reads every turn of a conversation,
// so the same blobs come back record after record. ConversationRefs and
// UnpackConversation let a store fetch and rebuild only those two values,
// from blobs it decoded once (with Decode) and keeps between records.

// ConversationRefs lists the blobs a row's conversation and response refer
// to, each once; not those only its request body needs.
func ConversationRefs(refs []byte) ([]Hash, error) {
	var out []Hash
	err := walk(refs, func(t target, _ int, h Hash, _ bool) error {
		if t != inBody && !slices.Contains(out, h) {
			out = append(out, h)
		}
		return nil
	})
	return out, err
}

// UnpackConversation sets rec.Conversation and rec.Response from row, as
// Unpack does, but only their messages and choices (what export reads: no
// tools or parameters, no response id, model or usage), and leaves
// rec.Request and rec.Attempts nil. Like Unpack, it sets the usage counts
// that only the response keeps in rec.Usage (see usageOf). decoded returns
// a blob's content already decoded (Decode); the slice is only read.
func (p *Packer) UnpackConversation(rec *lyumen.Record, row Row, decoded func(Hash) ([]byte, error)) error {
	outs, err := p.rebuild([nTargets][]byte{inConversation: row.Conversation, inResponse: row.Response},
		[nTargets]bool{inConversation: true, inResponse: true}, row.Refs, decoded)
	if err != nil {
		return err
	}
	rec.Request, rec.Attempts, rec.Conversation, rec.Response = nil, nil, nil, nil
	if b := outs[inConversation]; b != nil {
		if rec.Conversation = new(lyumen.Conversation); !decodeConversation(b, rec.Conversation) {
			var c lyumen.Conversation
			if err := json.Unmarshal(b, &c); err != nil {
				return fmt.Errorf("pack: conversation: %w", err)
			}
			rec.Conversation = &lyumen.Conversation{Messages: c.Messages}
		}
	}
	if b := outs[inResponse]; b != nil {
		if rec.Response = new(lyumen.Response); !decodeResponse(b, rec.Response, &rec.Usage) {
			var r lyumen.Response
			if err := json.Unmarshal(b, &r); err != nil {
				return fmt.Errorf("pack: response: %w", err)
			}
			rec.Response = &lyumen.Response{Choices: r.Choices}
			usageOf(rec, r.Usage)
		}
	}
	return nil
}

// decodeConversation sets c.Messages from a lyumen.Conversation's JSON, as
// encoding/json would, and leaves the rest of c (tools, parameters) zero:
// export reads the messages only. It reports false when b is not what
// marshal writes; the caller then uses encoding/json.
func decodeConversation(b []byte, c *lyumen.Conversation) bool {
	d := decoder{b: b}
	ok := d.object(func(key string) bool {
		if key != "messages" {
			return d.skip()
		}
		if c.Messages = nil; d.null() {
			return true
		}
		c.Messages = []lyumen.Message{}
		return d.array(func() bool {
			c.Messages = append(c.Messages, lyumen.Message{})
			return d.message(&c.Messages[len(c.Messages)-1])
		})
	})
	return ok && d.end()
}

// decodeResponse sets r.Choices from a lyumen.Response's JSON, and leaves
// the rest of r zero, like decodeConversation; the usage's cached and
// reasoning counts go to u (usageOf), or zero when it has none.
func decodeResponse(b []byte, r *lyumen.Response, u *lyumen.Usage) bool {
	d := decoder{b: b}
	u.CachedTokens, u.ReasoningTokens = 0, 0
	ok := d.object(func(key string) bool {
		if key == "usage" {
			return d.object(func(key string) bool {
				switch key {
				case "cached_tokens":
					return d.int(&u.CachedTokens)
				case "reasoning_tokens":
					return d.int(&u.ReasoningTokens)
				}
				return d.skip()
			})
		}
		if key != "choices" {
			return d.skip()
		}
		if r.Choices = nil; d.null() {
			return true
		}
		r.Choices = []lyumen.Choice{}
		return d.array(func() bool {
			r.Choices = append(r.Choices, lyumen.Choice{})
			ch := &r.Choices[len(r.Choices)-1]
			return d.object(func(key string) bool {
				switch key {
				case "index":
					return d.int(&ch.Index)
				case "message":
					return d.message(&ch.Message)
				case "finish_reason":
					return d.string(&ch.FinishReason)
				}
				return d.skip()
			})
		})
	})
	return ok && d.end()
}

// decoder reads the JSON that encoding/json writes for the conversation
// types: objects, arrays, strings and integers, no surprises.
type decoder struct {
	b []byte
	i int
}

func (d *decoder) ws() {
	d.i = skipWS(d.b, d.i)
}

func (d *decoder) end() bool {
	d.ws()
	return d.i == len(d.b)
}

// null consumes a null and reports whether there was one.
func (d *decoder) null() bool {
	d.ws()
	if len(d.b)-d.i >= 4 && string(d.b[d.i:d.i+4]) == "null" {
		d.i += 4
		return true
	}
	return false
}

func (d *decoder) skip() bool {
	d.ws()
	j := skipValue(d.b, d.i)
	if j < 0 {
		return false
	}
	d.i = j
	return true
}

// object calls field for each key; field reads the value.
func (d *decoder) object(field func(key string) bool) bool {
	if d.null() {
		return true
	}
	if d.i >= len(d.b) || d.b[d.i] != '{' {
		return false
	}
	d.i++
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == '}' {
		d.i++
		return true
	}
	for {
		var key string
		if !d.string(&key) {
			return false
		}
		d.ws()
		if d.i >= len(d.b) || d.b[d.i] != ':' {
			return false
		}
		d.i++
		if !field(key) {
			return false
		}
		d.ws()
		if d.i >= len(d.b) {
			return false
		}
		switch d.b[d.i] {
		case ',':
			d.i++
		case '}':
			d.i++
			return true
		default:
			return false
		}
	}
}

// array calls elem for each element; elem reads it.
func (d *decoder) array(elem func() bool) bool {
	if d.null() {
		return true
	}
	if d.i >= len(d.b) || d.b[d.i] != '[' {
		return false
	}
	d.i++
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == ']' {
		d.i++
		return true
	}
	for {
		if !elem() {
			return false
		}
		d.ws()
		if d.i >= len(d.b) {
			return false
		}
		switch d.b[d.i] {
		case ',':
			d.i++
		case ']':
			d.i++
			return true
		default:
			return false
		}
	}
}

// string reads a JSON string: jsonscan.Unquote's, or encoding/json's for
// escapes it does not take.
func (d *decoder) string(s *string) bool {
	if d.null() {
		return true
	}
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return false
	}
	end := skipString(d.b, d.i)
	if end < 0 {
		return false
	}
	lit := d.b[d.i:end]
	d.i = end
	// A value without escapes shares d.b's memory: UnpackConversation
	// rebuilds each record into a buffer of its own that nothing writes to
	// after, so message text needs no copy of its own. Roles and finish
	// reasons are interned, so that the field every message has does not
	// keep the buffer alive once the text has been replaced (redaction);
	// the rarer fields (names, call ids, arguments) still share it.
	if v, ok := jsonscan.Unquote(unsafe.String(&lit[0], len(lit))); ok {
		*s = intern(v)
		return true
	}
	v, ok := unquote(lit)
	if ok {
		*s = v
	}
	return ok
}

// unquote is encoding/json's reading of a string literal. It is apart from
// decoder.string so that the pointer json.Unmarshal takes is to its own
// variable: were it string's s, s would escape, and every object key that
// decoder.object reads (a variable of its own) would cost an allocation.
func unquote(lit []byte) (string, bool) {
	var v string
	err := json.Unmarshal(lit, &v)
	return v, err == nil
}

// intern returns the constant for the roles and finish reasons every
// record repeats, and v itself otherwise.
func intern(v string) string {
	switch v {
	case "user":
		return "user"
	case "assistant":
		return "assistant"
	case "system":
		return "system"
	case "tool":
		return "tool"
	case "developer":
		return "developer"
	case "stop":
		return "stop"
	case "length":
		return "length"
	case "tool_calls":
		return "tool_calls"
	}
	return v
}

func (d *decoder) int(n *int) bool {
	d.ws()
	start := d.i
	if d.i < len(d.b) && d.b[d.i] == '-' {
		d.i++
	}
	v := 0
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		v = v*10 + int(d.b[d.i]-'0')
		d.i++
		if v > 1<<40 {
			return false
		}
	}
	if d.i == start || d.i == start+1 && d.b[start] == '-' {
		return false
	}
	if d.i < len(d.b) && (d.b[d.i] == '.' || d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		return false
	}
	if d.b[start] == '-' {
		v = -v
	}
	*n = v
	return true
}

func (d *decoder) message(m *lyumen.Message) bool {
	return d.object(func(key string) bool {
		switch key {
		case "role":
			return d.string(&m.Role)
		case "content":
			return d.string(&m.Content)
		case "tool_call_id":
			return d.string(&m.ToolCallID)
		case "name":
			return d.string(&m.Name)
		case "reasoning":
			return d.string(&m.Reasoning)
		case "refusal":
			return d.string(&m.Refusal)
		case "parts":
			return list(d, &m.Parts, func(p *lyumen.Part, key string) bool {
				switch key {
				case "type":
					return d.string(&p.Type)
				case "text":
					return d.string(&p.Text)
				case "url":
					return d.string(&p.URL)
				case "media_type":
					return d.string(&p.MediaType)
				case "data":
					return d.string(&p.Data)
				}
				return d.skip()
			})
		case "tool_calls":
			return list(d, &m.ToolCalls, func(tc *lyumen.ToolCall, key string) bool {
				switch key {
				case "index":
					return d.int(&tc.Index)
				case "id":
					return d.string(&tc.ID)
				case "type":
					return d.string(&tc.Type)
				case "name":
					return d.string(&tc.Name)
				case "arguments":
					return d.string(&tc.Arguments)
				}
				return d.skip()
			})
		}
		return d.skip()
	})
}

// list decodes a JSON array of objects, or null, into *s (reusing its
// memory), each object's fields by field, as encoding/json would: null is
// a nil slice, [] an empty one.
func list[T any](d *decoder, s *[]T, field func(e *T, key string) bool) bool {
	*s = (*s)[:0]
	if d.null() {
		*s = nil
		return true
	}
	if *s == nil {
		*s = []T{}
	}
	return d.array(func() bool {
		var zero T
		*s = append(*s, zero)
		e := &(*s)[len(*s)-1]
		return d.object(func(key string) bool { return field(e, key) })
	})
}
