package openai

import (
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
func fastChunk(data []byte) (ev lyumen.Event, ok bool) {
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
				d, ok := choice(&p)
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
func choice(p *jsonscan.Scanner) (d lyumen.ChoiceDelta, ok bool) {
	ok = p.Object(func(key string) bool {
		var ok bool
		switch key {
		case "index":
			d.Index, ok = p.Index(maxChoices)
		case "finish_reason":
			d.FinishReason, ok = p.StringOrNull()
		case "delta":
			ok = p.Null() || delta(p, &d)
		default:
			ok = p.Scalar()
		}
		return ok
	})
	return d, ok
}

// delta reads a choice's delta object.
func delta(p *jsonscan.Scanner, d *lyumen.ChoiceDelta) bool {
	return p.Object(func(key string) bool {
		var ok bool
		switch key {
		case "role":
			d.Role, ok = p.StringOrNull()
		case "content":
			d.Content, ok = p.StringOrNull()
		case "tool_calls":
			ok = p.Null()
		default:
			ok = p.Scalar()
		}
		return ok
	})
}
