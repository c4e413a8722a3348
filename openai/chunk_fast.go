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
			d.Index, ok = p.Index(maxChoices)
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
		default:
			ok = p.Scalar()
		}
		return ok
	})
}

// contentAt is where a chunk's content string lies: data[start:end], its
// quotes outside; start is -1 for a null. n counts the contents read: the
// span stands for the chunk's content only when there was one, a string.
type contentAt struct{ start, end, n int }

func (c *contentAt) saw(start, end int) { c.start, c.end, c.n = start, end, c.n+1 }

// chunkMemo reads a stream's chunks. Upstreams repeat every byte of a
// chunk but its words: id, model, fingerprint, the choice's index and the
// nulls after are the same in each. A chunk that begins and ends as the
// last one read did, around a plain string, differs from it only in that
// string, so it is read by checking the string alone: a tenth of the full
// read, on every token of every stream. FuzzChunkMemo checks that it reads
// what parseChunk does.
type chunkMemo struct {
	head, tail []byte       // the last chunk up to its content, and from the quote that ends it
	ev         lyumen.Event // what that chunk read as: one choice
}

func (m *chunkMemo) parse(data []byte) (lyumen.Event, error) {
	if len(m.head) > 0 && len(data) >= len(m.head)+len(m.tail) &&
		bytes.HasPrefix(data, m.head) && bytes.HasSuffix(data, m.tail) {
		if s := data[len(m.head) : len(data)-len(m.tail)]; jsonscan.Plain(s) {
			ev := m.ev
			d := ev.Choices[0]
			d.Content = string(s)
			ev.Choices = []lyumen.ChoiceDelta{d}
			return ev, nil
		}
	}
	m.head = m.head[:0]
	var at contentAt
	ev, ok := fastChunk(data, &at)
	if !ok {
		return parseChunkGeneral(data)
	}
	if at.n == 1 && at.start > 0 && len(ev.Choices) == 1 {
		m.head = append(m.head, data[:at.start]...)
		m.tail = append(m.tail[:0], data[at.end:]...)
		m.ev = ev
		m.ev.Choices = []lyumen.ChoiceDelta{ev.Choices[0]} // the caller's to change
	}
	return ev, nil
}
