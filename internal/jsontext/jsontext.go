// Package jsontext appends JSON by hand where encoding/json's reflection
// costs too much: the per-token events of translated streams, rendered
// byte for byte as encoding/json would render them.
package jsontext

import (
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/lyumen/lyumen/internal/jsonscan"
)

// Strings are strings whose escaping differs between naive quoting and
// encoding/json's, for the tests of what is built on AppendString.
var Strings = []string{
	"", "plain words", ` leading space`, `quote " and backslash \`, "<b>&amp;</b>",
	"line\nbreak\ttab\r", "\x00\x1f\x7f", "\u2028 and \u2029", "\xff\xfe invalid UTF-8", "héllo wörld", "😀",
}

// AppendString appends s to dst as a JSON string, escaped as encoding/json
// escapes it: printable ASCII other than ", \, <, > and & is copied, and a
// string with any other byte goes through json.Marshal.
func AppendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s) // cannot fail: a string
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// AppendStringRaw appends s to dst as a JSON string, escaped as
// encoding/json escapes it with SetEscapeHTML(false): <, > and & stay as
// they are. It is encoding/json's own escaping, so any string, valid UTF-8
// or not, comes out as there.
func AppendStringRaw(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	// Most texts are plain ASCII throughout, copied as they are: skip
	// what comes before the first byte that is not, eight bytes at a
	// time, and go on byte by byte from there (trying again after each
	// such byte made text with accents or escapes slower).
	for i := jsonscan.PlainRun(s); i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '\\', '"':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029': // encoding/json escapes them always
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

const hex = "0123456789abcdef"

// AppendStrings appends ss as a JSON array of strings, each escaped as
// AppendString escapes it.
func AppendStrings(dst []byte, ss []string) []byte {
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, s)
	}
	return append(dst, ']')
}

// AppendFloat appends f as encoding/json renders a float64: the shortest
// decimal that reads back as f, in exponent form below 1e-6 and from 1e21
// on. f must be finite, as anything decoded from JSON is.
func AppendFloat(dst []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// encoding/json writes e-7, not e-07.
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}
