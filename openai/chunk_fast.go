package openai

import "github.com/lyumen/lyumen"

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
	p := scanner{s: string(data)} // one copy: the event's strings share it
	if !p.eat('{') {
		return ev, false
	}
	if p.peek() == '}' {
		p.i++
		return ev, p.end()
	}
	for {
		key, ok := p.key()
		if !ok {
			return ev, false
		}
		switch key {
		case "id":
			if ev.ID, ok = p.stringOrNull(); !ok {
				return ev, false
			}
		case "model":
			if ev.Model, ok = p.stringOrNull(); !ok {
				return ev, false
			}
		case "choices":
			if p.null() {
				break
			}
			if !p.eat('[') {
				return ev, false
			}
			if p.peek() == ']' {
				p.i++
				break
			}
			for {
				d, ok := p.choice()
				if !ok {
					return ev, false
				}
				ev.Choices = append(ev.Choices, d)
				if p.eat(']') {
					break
				}
				if !p.eat(',') {
					return ev, false
				}
			}
		case "usage", "error":
			if !p.null() {
				return ev, false
			}
		default:
			if !p.scalar() {
				return ev, false
			}
		}
		if p.eat('}') {
			return ev, p.end()
		}
		if !p.eat(',') {
			return ev, false
		}
	}
}

// index reads a choice's index: an integer in [0, maxChoices) written
// plainly, as parseChunk requires it.
func (p *scanner) index() (int, bool) {
	p.space()
	n, start := 0, p.i
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' && p.i-start < 3 {
		n = n*10 + int(p.s[p.i]-'0')
		p.i++
	}
	if p.i == start || p.i-start > 1 && p.s[start] == '0' || n >= maxChoices {
		return 0, false
	}
	if p.i < len(p.s) {
		switch p.s[p.i] {
		case '.', 'e', 'E', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			return 0, false
		}
	}
	return n, true
}

// choice reads one element of choices.
func (p *scanner) choice() (d lyumen.ChoiceDelta, ok bool) {
	if !p.eat('{') {
		return d, false
	}
	if p.eat('}') {
		return d, true
	}
	for {
		key, ok := p.key()
		if !ok {
			return d, false
		}
		switch key {
		case "index":
			if d.Index, ok = p.index(); !ok {
				return d, false
			}
		case "finish_reason":
			if d.FinishReason, ok = p.stringOrNull(); !ok {
				return d, false
			}
		case "delta":
			if !p.null() && !p.delta(&d) {
				return d, false
			}
		default:
			if !p.scalar() {
				return d, false
			}
		}
		if p.eat('}') {
			return d, true
		}
		if !p.eat(',') {
			return d, false
		}
	}
}

// delta reads a choice's delta object.
func (p *scanner) delta(d *lyumen.ChoiceDelta) bool {
	if !p.eat('{') {
		return false
	}
	if p.eat('}') {
		return true
	}
	for {
		key, ok := p.key()
		if !ok {
			return false
		}
		switch key {
		case "role":
			if d.Role, ok = p.stringOrNull(); !ok {
				return false
			}
		case "content":
			if d.Content, ok = p.stringOrNull(); !ok {
				return false
			}
		case "tool_calls":
			if !p.null() {
				return false
			}
		default:
			if !p.scalar() {
				return false
			}
		}
		if p.eat('}') {
			return true
		}
		if !p.eat(',') {
			return false
		}
	}
}
