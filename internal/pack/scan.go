package pack

import (
	"hash"
	"slices"
)

// span is where a top-level key's value lies in a body.
type span struct {
	key        string
	start, end int
}

// topLevel finds the values of the given keys in a JSON object, in body
// order. It reports false when body is not a well-formed object; the body
// has already been decoded by then, so that only happens for bodies stored
// by hand.
func topLevel(b []byte, keys ...string) ([]span, bool) {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, false
	}
	i = skipWS(b, i+1)
	var out []span
	if i < len(b) && b[i] == '}' {
		return nil, skipWS(b, i+1) == len(b)
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return nil, false
		}
		kstart := i
		i = skipString(b, i)
		if i < 0 {
			return nil, false
		}
		key := b[kstart+1 : i-1] // escaped keys never match: fine, they are stored whole
		i = skipWS(b, i)
		if i >= len(b) || b[i] != ':' {
			return nil, false
		}
		i = skipWS(b, i+1)
		vstart := i
		i = skipValue(b, i)
		if i < 0 {
			return nil, false
		}
		if slices.Contains(keys, string(key)) {
			// A repeated key: the decoder took the last; keep it simple
			// and store such a body whole.
			for _, s := range out {
				if s.key == string(key) {
					return nil, false
				}
			}
			out = append(out, span{key: string(key), start: vstart, end: i})
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return nil, false
		}
		if b[i] == '}' {
			if skipWS(b, i+1) != len(b) {
				return nil, false
			}
			return out, true
		}
		if b[i] != ',' {
			return nil, false
		}
		i = skipWS(b, i+1)
	}
}

// arrayElems finds the elements of the JSON array starting at b[start].
func arrayElems(b []byte, start int) ([]span, bool) {
	i := skipWS(b, start+1)
	var out []span
	if i < len(b) && b[i] == ']' {
		return out, true
	}
	for {
		el := i
		i = skipValue(b, i)
		if i < 0 {
			return nil, false
		}
		out = append(out, span{start: el, end: i})
		i = skipWS(b, i)
		if i >= len(b) {
			return nil, false
		}
		switch b[i] {
		case ']':
			return out, true
		case ',':
			i = skipWS(b, i+1)
		default:
			return nil, false
		}
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"',
// or -1.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// skipValue returns the index after the JSON value starting at b[i], or -1.
// It checks nesting, not every detail of the grammar: the body was decoded
// by encoding/json already.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				if i < 0 {
					return -1
				}
				i--
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return -1
	}
	// A number, true, false or null: up to the next delimiter.
	start := i
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
		i++
	}
	if i == start {
		return -1
	}
	return i
}

// compactInto writes p without insignificant whitespace, for hashing.
func compactInto(h hash.Hash, p []byte) {
	buf := make([]byte, 0, len(p))
	in := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		if in {
			buf = append(buf, c)
			switch c {
			case '\\':
				if i+1 < len(p) {
					i++
					buf = append(buf, p[i])
				}
			case '"':
				in = false
			}
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '"':
			in = true
		}
		buf = append(buf, c)
	}
	h.Write(buf)
}
