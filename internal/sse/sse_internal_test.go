package sse

import (
	"strings"
	"testing"
)

// FuzzHasEvent checks the scan against a plain reading of the lines: a
// "data" field, then an empty line, in LF or CRLF framing.
func FuzzHasEvent(f *testing.F) {
	for _, s := range []string{"", "data: a\n\n", "data: a\r\n\r\n", "data: a\r\r", "a\r\nb\r\n", "\r\n\r", "\n\r", "x\n\r\n",
		": keep-alive\n\ndata: a\n\n", ": keep-alive\n\n", "event: ping\n\n", "data\n\n", "datum: a\n\n", "data: a\rb\n\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, buf []byte) {
		want := false
		lines := strings.Split(string(buf), "\n")
		data := false
		for _, l := range lines[:len(lines)-1] { // the last has no line end
			l = strings.TrimSuffix(l, "\r")
			if strings.Contains(l, "\r") { // a CR-only line end: not known
				break
			}
			if l == "" && data {
				want = true
				break
			}
			data = data || l == "data" || strings.HasPrefix(l, "data:")
		}
		if got := hasEvent(buf); got != want {
			t.Errorf("hasEvent(%q) = %v, want %v", buf, got, want)
		}
	})
}

// BenchmarkHasEvent asks as a stream relay does after each event: with
// the next chunk event buffered, and more behind it.
func BenchmarkHasEvent(b *testing.B) {
	ev := `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":" words"},"logprobs":null,"finish_reason":null}]}`
	for _, c := range []struct{ name, end string }{{"lf", "\n\n"}, {"crlf", "\r\n\r\n"}} {
		buf := []byte(strings.Repeat(ev+c.end, 8))
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if !hasEvent(buf) {
					b.Fatal("no event")
				}
			}
		})
	}
}
