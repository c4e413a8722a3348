// Package jsontext appends JSON by hand where encoding/json's reflection
// costs too much: the per-token events of translated streams, rendered
// byte for byte as encoding/json would render them.
package jsontext

import (
	"encoding/json"
	"math"
	"strconv"
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
