package pack

import (
	"bytes"
	"slices"
)

// span is where a top-level key's value lies in a body.
type span struct {
	key        string
	start, end int
}

// topLevel appends to dst the values of the given keys in a JSON object,
// in body order. It reports false when body is not a well-formed object;
// the body has already been decoded by then, so that only happens for
// bodies stored by hand.
//
// The functions here append to a dst the caller passes, so that a caller
// can keep the few spans it needs on its stack: they were half of the
// allocations of laying out a record.
func topLevel(dst []span, b []byte, keys ...string) ([]span, bool) {
	spans, end, ok := objectFields(dst, b, skipWS(b, 0), keys...)
	return spans, ok && skipWS(b, end) == len(b)
}

// objectFields appends to dst the values of the given keys in the JSON
// object that starts at b[i], in order, and returns the index after the
// object. A key that occurs twice makes it report false: the decoder took
// the last, and keeping it simple, such an object is stored whole.
func objectFields(dst []span, b []byte, i int, keys ...string) (spans []span, end int, ok bool) {
	spans = dst
	if i >= len(b) || b[i] != '{' {
		return nil, 0, false
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return spans, i + 1, true
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return nil, 0, false
		}
		kstart := i
		i = skipString(b, i)
		if i < 0 {
			return nil, 0, false
		}
		key := b[kstart+1 : i-1] // escaped keys never match: fine, they are stored whole
		i = skipWS(b, i)
		if i >= len(b) || b[i] != ':' {
			return nil, 0, false
		}
		i = skipWS(b, i+1)
		vstart := i
		i = skipValue(b, i)
		if i < 0 {
			return nil, 0, false
		}
		if k := slices.Index(keys, string(key)); k >= 0 {
			for _, s := range spans[len(dst):] {
				if s.key == keys[k] {
					return nil, 0, false
				}
			}
			spans = append(spans, span{key: keys[k], start: vstart, end: i})
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return nil, 0, false
		}
		switch b[i] {
		case '}':
			return spans, i + 1, true
		case ',':
			i = skipWS(b, i+1)
		default:
			return nil, 0, false
		}
	}
}

// arrayElems appends to dst the elements of the JSON array starting at
// b[start].
func arrayElems(dst []span, b []byte, start int) ([]span, bool) {
	i := skipWS(b, start+1)
	out := dst
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
// or -1. Strings are most of a body, so it jumps from quote to quote
// (IndexByte is vectorised) and looks back for escapes only there.
func skipString(b []byte, i int) int {
	open := i
	for i++; i < len(b); i++ {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return -1
		}
		i += j
		k := i - 1
		for k > open && b[k] == '\\' {
			k--
		}
		if (i-1-k)%2 == 0 { // an even number of backslashes: not escaped
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
