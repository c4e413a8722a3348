package openai

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// scanner walks JSON for the fast paths (fastChunk, fastChatFields). Each
// method consumes one piece of JSON if it is next and well formed, and
// reports whether it did; the fast paths give up on anything else.
type scanner struct {
	s string
	i int
}

func (p *scanner) space() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// peek returns the next byte after white space, 0 at the end.
func (p *scanner) peek() byte {
	p.space()
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

// eat consumes c, after white space, if it is next.
func (p *scanner) eat(c byte) bool {
	if p.peek() == c && p.i < len(p.s) {
		p.i++
		return true
	}
	return false
}

// end reports whether nothing but white space is left.
func (p *scanner) end() bool {
	p.space()
	return p.i == len(p.s)
}

// str reads a string without escapes or control characters.
func (p *scanner) str() (string, bool) {
	if !p.eat('"') {
		return "", false
	}
	rest := p.s[p.i:]
	n := strings.IndexByte(rest, '"')
	if n < 0 {
		return "", false
	}
	s := rest[:n]
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '\\' {
			return "", false
		}
	}
	p.i += n + 1
	return s, true
}

func (p *scanner) key() (string, bool) {
	k, ok := p.str()
	return k, ok && p.eat(':')
}

func (p *scanner) literal(lit string) bool {
	p.space()
	if len(p.s)-p.i >= len(lit) && p.s[p.i:p.i+len(lit)] == lit {
		p.i += len(lit)
		return true
	}
	return false
}

func (p *scanner) null() bool { return p.literal("null") }

func (p *scanner) stringOrNull() (string, bool) {
	if p.null() {
		return "", true
	}
	return p.str()
}

// number reads a JSON number, as its grammar has it.
func (p *scanner) number() bool {
	p.space()
	start := p.i
	if p.i < len(p.s) && p.s[p.i] == '-' {
		p.i++
	}
	switch {
	case p.i < len(p.s) && p.s[p.i] == '0':
		p.i++
	case p.digits() == 0:
		return false
	}
	if p.i < len(p.s) && p.s[p.i] == '.' {
		p.i++
		if p.digits() == 0 {
			return false
		}
	}
	if p.i < len(p.s) && (p.s[p.i] == 'e' || p.s[p.i] == 'E') {
		p.i++
		if p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
			p.i++
		}
		if p.digits() == 0 {
			return false
		}
	}
	return p.i > start
}

func (p *scanner) digits() int {
	n := 0
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
		n++
	}
	return n
}

// scalar skips a string, number, true, false or null.
func (p *scanner) scalar() bool {
	switch p.peek() {
	case '"':
		_, ok := p.str()
		return ok
	case 't':
		return p.literal("true")
	case 'f':
		return p.literal("false")
	case 'n':
		return p.null()
	}
	return p.number()
}

// rawString reads a string, escapes allowed and checked, and returns it as
// written, quotes included.
func (p *scanner) rawString() (string, bool) {
	p.space()
	if p.i >= len(p.s) || p.s[p.i] != '"' {
		return "", false
	}
	start := p.i
	for p.i++; p.i < len(p.s); p.i++ {
		switch c := p.s[p.i]; {
		case c == '"':
			p.i++
			return p.s[start:p.i], true
		case c < 0x20:
			return "", false
		case c == '\\':
			p.i++
			if p.i >= len(p.s) {
				return "", false
			}
			switch p.s[p.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(p.s)-p.i < 5 {
					return "", false
				}
				for _, h := range []byte(p.s[p.i+1 : p.i+5]) {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return "", false
					}
				}
				p.i += 4
			default:
				return "", false
			}
		}
	}
	return "", false
}

// text reads a string without escapes that is valid UTF-8, so that its
// bytes are its value.
func (p *scanner) text() (string, bool) {
	s, ok := p.str()
	return s, ok && utf8.ValidString(s)
}

// maxDepth bounds the nesting value follows; deeper values are left
// to encoding/json.
const maxDepth = 32

// value skips any JSON value, nested up to maxDepth.
func (p *scanner) value(depth int) bool {
	switch p.peek() {
	case '{':
		if depth >= maxDepth {
			return false
		}
		p.i++
		if p.eat('}') {
			return true
		}
		for {
			if _, ok := p.rawString(); !ok || !p.eat(':') || !p.value(depth+1) {
				return false
			}
			if p.eat('}') {
				return true
			}
			if !p.eat(',') {
				return false
			}
		}
	case '[':
		if depth >= maxDepth {
			return false
		}
		p.i++
		if p.eat(']') {
			return true
		}
		for {
			if !p.value(depth + 1) {
				return false
			}
			if p.eat(']') {
				return true
			}
			if !p.eat(',') {
				return false
			}
		}
	case '"':
		_, ok := p.rawString()
		return ok
	}
	return p.scalar()
}

// numberText reads a number and returns it as written.
func (p *scanner) numberText() (string, bool) {
	p.space()
	start := p.i
	if !p.number() {
		return "", false
	}
	return p.s[start:p.i], true
}

// boolOrNull reads true, false or null (nil).
func (p *scanner) boolOrNull() (*bool, bool) {
	switch {
	case p.null():
		return nil, true
	case p.literal("true"):
		t := true
		return &t, true
	case p.literal("false"):
		f := false
		return &f, true
	}
	return nil, false
}

// intOrNull reads an integer or null (nil), as encoding/json decodes into
// an *int64: a number with a fraction or an exponent is not one.
func (p *scanner) intOrNull() (*int64, bool) {
	if p.null() {
		return nil, true
	}
	s, ok := p.numberText()
	if !ok {
		return nil, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return nil, false
	}
	return &n, true
}

// floatOrNull reads a number or null (nil), as encoding/json decodes into
// a *float64.
func (p *scanner) floatOrNull() (*float64, bool) {
	if p.null() {
		return nil, true
	}
	s, ok := p.numberText()
	if !ok {
		return nil, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, false
	}
	return &f, true
}
