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
// nested values other than choices and delta, no tool calls, usage or
// error) and consumes all of its input, so it validates what it accepts;
// anything else returns ok false and goes to parseChunk's general path.
// FuzzFastChunk checks that whatever it accepts, parseChunk reads the same.
func fastChunk(data []byte) (ev lyumen.Event, ok bool) {
	p := jsonscan.New(string(data)) // one copy: the event's strings share it
	if !p.Eat('{') {
		return ev, false
	}
	if p.Eat('}') {
		return ev, p.End()
	}
	for {
		key, ok := p.Key()
		if !ok {
			return ev, false
		}
		switch key {
		case "id":
			if ev.ID, ok = p.StringOrNull(); !ok {
				return ev, false
			}
		case "model":
			if ev.Model, ok = p.StringOrNull(); !ok {
				return ev, false
			}
		case "choices":
			if p.Null() {
				break
			}
			if !p.Eat('[') {
				return ev, false
			}
			if p.Eat(']') {
				break
			}
			for {
				d, ok := choice(&p)
				if !ok {
					return ev, false
				}
				ev.Choices = append(ev.Choices, d)
				if p.Eat(']') {
					break
				}
				if !p.Eat(',') {
					return ev, false
				}
			}
		case "usage", "error":
			if !p.Null() {
				return ev, false
			}
		default:
			if !p.Scalar() {
				return ev, false
			}
		}
		if p.Eat('}') {
			return ev, p.End()
		}
		if !p.Eat(',') {
			return ev, false
		}
	}
}

// choice reads one element of choices.
func choice(p *jsonscan.Scanner) (d lyumen.ChoiceDelta, ok bool) {
	if !p.Eat('{') {
		return d, false
	}
	if p.Eat('}') {
		return d, true
	}
	for {
		key, ok := p.Key()
		if !ok {
			return d, false
		}
		switch key {
		case "index":
			if d.Index, ok = p.Index(maxChoices); !ok {
				return d, false
			}
		case "finish_reason":
			if d.FinishReason, ok = p.StringOrNull(); !ok {
				return d, false
			}
		case "delta":
			if !p.Null() && !delta(p, &d) {
				return d, false
			}
		default:
			if !p.Scalar() {
				return d, false
			}
		}
		if p.Eat('}') {
			return d, true
		}
		if !p.Eat(',') {
			return d, false
		}
	}
}

// delta reads a choice's delta object.
func delta(p *jsonscan.Scanner, d *lyumen.ChoiceDelta) bool {
	if !p.Eat('{') {
		return false
	}
	if p.Eat('}') {
		return true
	}
	for {
		key, ok := p.Key()
		if !ok {
			return false
		}
		switch key {
		case "role":
			if d.Role, ok = p.StringOrNull(); !ok {
				return false
			}
		case "content":
			if d.Content, ok = p.StringOrNull(); !ok {
				return false
			}
		case "tool_calls":
			if !p.Null() {
				return false
			}
		default:
			if !p.Scalar() {
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
