// Package jsonscan reads JSON by hand for the gateway's fast paths: a
// request or a streamed chunk in the shapes clients and upstreams send
// most, read in one pass without reflection. Each method consumes one
// piece of JSON if it is next and well formed, and reports whether it did;
// a fast path gives up on anything else and leaves it to encoding/json.
package jsonscan

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Scanner walks one JSON text.
type Scanner struct {
	s string
	i int
}

// New returns a Scanner at the start of s.
func New(s string) Scanner { return Scanner{s: s} }

func (p *Scanner) Space() {
	for p.i < len(p.s) && p.s[p.i] <= ' ' { // most calls: one compare, no space
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// peek returns the next byte after white space, 0 at the end.
func (p *Scanner) Peek() byte {
	p.Space()
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

// eat consumes c, after white space, if it is next.
func (p *Scanner) Eat(c byte) bool {
	if p.Peek() == c && p.i < len(p.s) {
		p.i++
		return true
	}
	return false
}

// end reports whether nothing but white space is left.
func (p *Scanner) End() bool {
	p.Space()
	return p.i == len(p.s)
}

// str reads a string without escapes or control characters.
func (p *Scanner) Str() (string, bool) {
	if !p.Eat('"') {
		return "", false
	}
	// One pass for the closing quote and what this reader refuses: keys
	// and chunk strings are short, where a vectorised search for the quote
	// and a second loop cost more than the loop alone.
	rest := p.s[p.i:]
	for n := 0; n < len(rest); n++ {
		switch c := rest[n]; {
		case c == '"':
			p.i += n + 1
			return rest[:n], true
		case c < 0x20 || c == '\\':
			return "", false
		}
	}
	return "", false
}

// Plain reports whether s, between quotes, is a string Str reads: no
// quote, backslash or control character.
func Plain(s []byte) bool {
	for _, c := range s {
		if c < 0x20 || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// Pos is how many bytes of the text the Scanner has read.
func (p *Scanner) Pos() int { return p.i }

func (p *Scanner) Key() (string, bool) {
	k, ok := p.Str()
	return k, ok && p.Eat(':')
}

func (p *Scanner) Literal(lit string) bool {
	p.Space()
	if len(p.s)-p.i >= len(lit) && p.s[p.i:p.i+len(lit)] == lit {
		p.i += len(lit)
		return true
	}
	return false
}

func (p *Scanner) Null() bool { return p.Literal("null") }

func (p *Scanner) StringOrNull() (string, bool) {
	if p.Null() {
		return "", true
	}
	return p.Str()
}

// number reads a JSON number, as its grammar has it.
func (p *Scanner) Number() bool {
	p.Space()
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

func (p *Scanner) digits() int {
	n := 0
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
		n++
	}
	return n
}

// scalar skips a string, number, true, false or null.
func (p *Scanner) Scalar() bool {
	switch p.Peek() {
	case '"':
		_, ok := p.Str()
		return ok
	case 't':
		return p.Literal("true")
	case 'f':
		return p.Literal("false")
	case 'n':
		return p.Null()
	}
	return p.Number()
}

// rawString reads a string, escapes allowed and checked, and returns it as
// written, quotes included.
func (p *Scanner) RawString() (string, bool) {
	p.Space()
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

// Unquote returns the value of the JSON string literal lit (quotes
// included) when it is valid UTF-8 and its escapes are among \n, \t,
// \r, \", \\ and \/: what chat text holds. Anything else reports false,
// for encoding/json to decode.
func Unquote(lit string) (string, bool) {
	if len(lit) < 2 || lit[0] != '"' || lit[len(lit)-1] != '"' {
		return "", false
	}
	s := lit[1 : len(lit)-1]
	if plainASCII(s) { // the common case, in one pass: s is its value
		return s, true
	}
	if !utf8.ValidString(s) {
		return "", false
	}
	if strings.IndexByte(s, '\\') < 0 {
		for i := 0; i < len(s); i++ {
			if s[i] < 0x20 || s[i] == '"' {
				return "", false
			}
		}
		return s, true
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c < 0x20 || c == '"':
			return "", false
		case c != '\\':
			b.WriteByte(c)
			continue
		}
		if i++; i == len(s) {
			return "", false
		}
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case '"', '\\', '/':
			b.WriteByte(s[i])
		default:
			return "", false
		}
	}
	return b.String(), true
}

// plainASCII says whether s is printable ASCII without a quote or a
// backslash.
func plainASCII(s string) bool {
	i := PlainRun(s)
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// PlainRun returns how many bytes s starts with, in whole words of eight,
// that are printable ASCII other than a quote or a backslash: bytes that
// stand for themselves in a JSON string. A word holds another byte when
// one of the terms below sets that byte's high bit: a byte under 0x20, at
// or over 0x80, or equal to '"' or '\\'.
func PlainRun(s string) int {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		q, b := w^('"'*lo), w^('\\'*lo)
		if (w|(w-0x20*lo)|(q-lo)&^q|(b-lo)&^b)&hi != 0 {
			break
		}
	}
	return i
}

// text reads a string without escapes that is valid UTF-8, so that its
// bytes are its value.
func (p *Scanner) Text() (string, bool) {
	s, ok := p.Str()
	return s, ok && utf8.ValidString(s)
}

// maxDepth bounds the nesting value follows; deeper values are left
// to encoding/json.
const maxDepth = 32

// value skips any JSON value, nested up to maxDepth.
func (p *Scanner) Value(depth int) bool {
	switch p.Peek() {
	case '{':
		if depth >= maxDepth {
			return false
		}
		p.i++
		if p.Eat('}') {
			return true
		}
		for {
			if _, ok := p.RawString(); !ok || !p.Eat(':') || !p.Value(depth+1) {
				return false
			}
			if p.Eat('}') {
				return true
			}
			if !p.Eat(',') {
				return false
			}
		}
	case '[':
		if depth >= maxDepth {
			return false
		}
		p.i++
		if p.Eat(']') {
			return true
		}
		for {
			if !p.Value(depth + 1) {
				return false
			}
			if p.Eat(']') {
				return true
			}
			if !p.Eat(',') {
				return false
			}
		}
	case '"':
		_, ok := p.RawString()
		return ok
	}
	return p.Scalar()
}

// numberText reads a number and returns it as written.
func (p *Scanner) NumberText() (string, bool) {
	p.Space()
	start := p.i
	if !p.Number() {
		return "", false
	}
	return p.s[start:p.i], true
}

// boolOrNull reads true, false or null (nil).
func (p *Scanner) BoolOrNull() (*bool, bool) {
	switch {
	case p.Null():
		return nil, true
	case p.Literal("true"):
		t := true
		return &t, true
	case p.Literal("false"):
		f := false
		return &f, true
	}
	return nil, false
}

// IntOrNull reads an integer or null (null set), as encoding/json decodes
// into an *int64: a number with a fraction or an exponent is not one. It
// returns the value, not a pointer, which would cost an allocation each
// (the caller usually wants an int anyway).
func (p *Scanner) IntOrNull() (n int64, null, ok bool) {
	if p.Null() {
		return 0, true, true
	}
	s, ok := p.NumberText()
	if !ok {
		return 0, false, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false, false
	}
	return n, false, true
}

// floatOrNull reads a number or null (nil), as encoding/json decodes into
// a *float64.
func (p *Scanner) FloatOrNull() (*float64, bool) {
	if p.Null() {
		return nil, true
	}
	s, ok := p.NumberText()
	if !ok {
		return nil, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, false
	}
	return &f, true
}

// Index reads an integer in [0, limit) written plainly: no sign, no
// leading zero, fraction or exponent, at most three digits.
func (p *Scanner) Index(limit int) (int, bool) {
	p.Space()
	n, start := 0, p.i
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' && p.i-start < 3 {
		n = n*10 + int(p.s[p.i]-'0')
		p.i++
	}
	if p.i == start || p.i-start > 1 && p.s[start] == '0' || n >= limit {
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

// Raw reads any value and returns its bytes in b, the text the Scanner was
// made from, as encoding/json fills a json.RawMessage.
func (p *Scanner) Raw(b []byte) ([]byte, bool) {
	p.Space()
	start := p.i
	if !p.Value(0) {
		return nil, false
	}
	return b[start:p.i:p.i], true
}

// RawText reads any value and returns it as written, a piece of the text
// the Scanner was made from.
func (p *Scanner) RawText() (string, bool) {
	p.Space()
	start := p.i
	if !p.Value(0) {
		return "", false
	}
	return p.s[start:p.i], true
}

// Seen tells a repeated key among those of a list (at most 64): a fast
// path leaves a repeated key to encoding/json, which keeps the last copy
// where the upstream might read the first.
type Seen struct {
	keys []string
	seen uint64
}

// NewSeen returns a Seen of keys.
func NewSeen(keys []string) Seen { return Seen{keys: keys} }

// Repeated marks key as seen and reports whether it was seen before. A key
// not in the list is never repeated.
func (s *Seen) Repeated(key string) bool {
	for i, k := range s.keys {
		if k == key {
			bit := uint64(1) << i
			if s.seen&bit != 0 {
				return true
			}
			s.seen |= bit
			return false
		}
	}
	return false
}

// Object reads an object, calling field with each key once the scanner is
// at its value, which field must consume. It reports whether the object
// was well formed and every call returned true.
func (p *Scanner) Object(field func(key string) bool) bool {
	if !p.Eat('{') {
		return false
	}
	if p.Eat('}') {
		return true
	}
	for {
		key, ok := p.Key()
		if !ok || !field(key) {
			return false
		}
		if p.Eat('}') {
			return true
		}
		if !p.Eat(',') {
			return false
		}
	}
}

// Array reads an array, calling elem at each element, which elem must
// consume. It reports whether the array was well formed and every call
// returned true.
func (p *Scanner) Array(elem func() bool) bool {
	if !p.Eat('[') {
		return false
	}
	if p.Eat(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if p.Eat(']') {
			return true
		}
		if !p.Eat(',') {
			return false
		}
	}
}
