package openai

import (
	"bytes"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/jsonscan"
)

// Nearly every chunk of a stream is a few words for one choice:
//
//	{"id":"…","object":"chat.completion.chunk","created":…,"model":"…",
//	 "choices":[{"index":0,"delta":{"content":"…"},"finish_reason":null}]}
//
// fastChunk reads that shape in one pass, without gjson's validation pass,
// its closures or its re-parsing of nested values: on a pass-through
// stream the parse of each chunk was most of what the gateway added per
// token. It accepts only a subset of JSON (strings without escapes, no
// nested values other than choices, delta and usage, no tool calls or
// error) and consumes all of its input, so it validates what it accepts;
// anything else returns ok false and goes to parseChunk's general path.
// FuzzFastChunk checks that whatever it accepts, parseChunk reads the same.
//
// at, when not nil, is told where the content strings lie.
func fastChunk(data []byte, at *contentAt) (ev lyumen.Event, ok bool) {
	p := jsonscan.New(string(data)) // one copy: the event's strings share it
	ok = p.Object(func(key string) bool {
		var ok bool
		switch key {
		case "id":
			ev.ID, ok = p.StringOrNull()
		case "model":
			ev.Model, ok = p.StringOrNull()
		case "choices":
			ok = p.Null() || p.Array(func() bool {
				d, ok := choice(&p, at)
				ev.Choices = append(ev.Choices, d)
				return ok
			})
		case "usage": // the last chunk of a stream with include_usage
			ok = usageOrNull(&p, &ev.Usage)
		case "error":
			ok = p.Null()
		case "object": // "error" in a flat error object: the general path reads it
			var obj string
			obj, ok = p.StringOrNull()
			ok = ok && obj != "error"
		case "obfuscation": // OpenAI's random padding, on by default
			if p.Peek() != '"' {
				ok = p.Scalar()
				break
			}
			var pad string
			if pad, ok = p.Str(); ok && at != nil {
				at.padEnd = p.Pos() - 1
				at.pad = at.padEnd - len(pad)
			}
		default:
			ok = p.Scalar()
		}
		return ok
	})
	return ev, ok && p.End()
}

// choice reads one element of choices.
func choice(p *jsonscan.Scanner, at *contentAt) (d lyumen.ChoiceDelta, ok bool) {
	ok = p.Object(func(key string) bool {
		var ok bool
		switch key {
		case "index":
			d.Index, ok = p.Index(lyumen.MaxChoices)
		case "finish_reason":
			d.FinishReason, ok = p.StringOrNull()
		case "delta":
			ok = p.Null() || delta(p, &d, at)
		default:
			ok = p.Scalar()
		}
		return ok
	})
	return d, ok
}

// delta reads a choice's delta object.
func delta(p *jsonscan.Scanner, d *lyumen.ChoiceDelta, at *contentAt) bool {
	return p.Object(func(key string) bool {
		var ok bool
		switch key {
		case "role":
			d.Role, ok = p.StringOrNull()
		case "content":
			if ok = p.Null(); ok {
				d.Content = ""
				if at != nil {
					at.saw(-1, -1) // a later null undoes a string
				}
				break
			}
			if d.Content, ok = p.Str(); ok && at != nil {
				end := p.Pos() - 1 // the closing quote: Str reads no escapes
				at.saw(end-len(d.Content), end)
			}
		case "tool_calls":
			ok = p.Null()
		case "reasoning_content", "reasoning": // DeepSeek, vLLM; OpenRouter
			var r string
			if r, ok = p.StringOrNull(); d.Reasoning == "" {
				d.Reasoning = r // a server that sends both sends the same
			}
		case "refusal":
			d.Refusal, ok = p.StringOrNull()
		default:
			ok = p.Scalar()
		}
		return ok
	})
}

// contentAt is where a chunk's content string lies: data[start:end], its
// quotes outside; start is -1 for a null. n counts the contents read: the
// span stands for the chunk's content only when there was one, a string.
// data[pad:padEnd] is the value of the last top-level "obfuscation"
// string, pad 0 when there is none: a value the event does not depend on.
type contentAt struct{ start, end, n, pad, padEnd int }

func (c *contentAt) saw(start, end int) { c.start, c.end, c.n = start, end, c.n+1 }

// chunkMemo reads a stream's chunks. Upstreams repeat every byte of a
// chunk but its words: id, model, fingerprint, the choice's index and the
// nulls after are the same in each, and OpenAI adds random padding at the
// end. A chunk that has the last one's bytes around a plain content string
// (and around a plain padding string, when the last one's came after its
// content) differs from it only in those strings, so it is read by
// checking them alone: a fifth of the full read, on every token of every
// stream. FuzzChunkMemo checks that it reads what parseChunk does.
type chunkMemo struct {
	// The last chunk up to its content; from the quote that ends it (to
	// the padding's value when padded); and, when padded, from the quote
	// that ends the padding.
	head, mid, tail []byte
	padded          bool
	ev              lyumen.Event // what that chunk read as: one choice
}

func (m *chunkMemo) parse(data []byte) (lyumen.Event, error) {
	if content, ok := m.hit(data); ok {
		ev := m.ev
		d := ev.Choices[0]
		d.Content = string(content)
		ev.Choices = []lyumen.ChoiceDelta{d}
		if ev.Usage != nil { // rare in a content chunk; each event owns its own
			u := *ev.Usage
			ev.Usage = &u
		}
		return ev, nil
	}
	m.head = m.head[:0]
	var at contentAt
	ev, ok := fastChunk(data, &at)
	if !ok {
		return parseChunkGeneral(data)
	}
	if at.n == 1 && at.start > 0 && len(ev.Choices) == 1 {
		m.head = append(m.head, data[:at.start]...)
		m.padded = at.pad > at.end
		if m.padded {
			m.mid = append(m.mid[:0], data[at.end:at.pad]...)
			m.tail = append(m.tail[:0], data[at.padEnd:]...)
		} else {
			m.mid = append(m.mid[:0], data[at.end:]...)
		}
		// A copy: ev.Choices is the caller's to change. A hit returns a new
		// slice, so the memo's own stays its own, for the next arming.
		choices := append(m.ev.Choices[:0], ev.Choices[0])
		m.ev = ev
		m.ev.Choices = choices
	}
	return ev, nil
}

// hit returns the content of data when data is the remembered chunk with
// other plain strings for its content and padding.
func (m *chunkMemo) hit(data []byte) ([]byte, bool) {
	rest, ok := bytes.CutPrefix(data, m.head)
	if len(m.head) == 0 || !ok {
		return nil, false
	}
	content, rest, ok := cutPlain(rest)
	if !ok {
		return nil, false
	}
	if !m.padded {
		return content, bytes.Equal(rest, m.mid)
	}
	if rest, ok = bytes.CutPrefix(rest, m.mid); !ok {
		return nil, false
	}
	_, rest, ok = cutPlain(rest)
	return content, ok && bytes.Equal(rest, m.tail)
}

// cutPlain splits b at its first quote: a plain string holds none, so
// that quote ends it. It returns the string and the rest from the quote.
func cutPlain(b []byte) (s, rest []byte, ok bool) {
	i := bytes.IndexByte(b, '"')
	if i < 0 || !jsonscan.Plain(b[:i]) {
		return nil, nil, false
	}
	return b[:i], b[i:], true
}
