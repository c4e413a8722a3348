package openai_test

import (
	"testing"

	"github.com/lyumen/lyumen/openai"
)

// BenchmarkDecodeChat decodes the chat request of bench/'s load generator:
// two messages, sampling options and stream_options.
func BenchmarkDecodeChat(b *testing.B) {
	body := []byte(`{"model":"bench-model","messages":[` +
		`{"role":"system","content":"You are a concise assistant. Answer in one sentence."},` +
		`{"role":"user","content":"What does a reverse proxy do, in one sentence?"}],` +
		`"temperature":0.2,"max_tokens":256,"user":"bench","stream":true,"stream_options":{"include_usage":true}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := openai.DecodeChat(body); err != nil {
			b.Fatal(err)
		}
	}
}
