// Package jsontext appends JSON by hand where encoding/json's reflection
// costs too much: the per-token events of translated streams, rendered
// byte for byte as encoding/json would render them.
package jsontext

import "encoding/json"

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
