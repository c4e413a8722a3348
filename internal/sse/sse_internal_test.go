package sse

import (
	"bytes"
	"testing"
)

// FuzzHasBlankLine checks the one-pass scan against the three searches it
// replaces.
func FuzzHasBlankLine(f *testing.F) {
	for _, s := range []string{"", "data: a\n\n", "data: a\r\n\r\n", "data: a\r\r", "a\r\nb\r\n", "\r\n\r", "\n\r", "x\n\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, buf []byte) {
		want := bytes.Contains(buf, []byte("\n\n")) || bytes.Contains(buf, []byte("\r\r")) || bytes.Contains(buf, []byte("\n\r\n"))
		if got := hasBlankLine(buf); got != want {
			t.Errorf("hasBlankLine(%q) = %v, want %v", buf, got, want)
		}
	})
}
