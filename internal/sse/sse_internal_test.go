package sse

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzHasBlankLine checks the scan against three plain searches.
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

// BenchmarkHasBlankLine asks as a stream relay does after each event: with
// the next chunk event buffered, and more behind it.
func BenchmarkHasBlankLine(b *testing.B) {
	ev := `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":" words"},"logprobs":null,"finish_reason":null}]}`
	for _, c := range []struct{ name, end string }{{"lf", "\n\n"}, {"crlf", "\r\n\r\n"}} {
		buf := []byte(strings.Repeat(ev+c.end, 8))
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if !hasBlankLine(buf) {
					b.Fatal("no blank line")
				}
			}
		})
	}
}
