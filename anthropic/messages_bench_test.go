package anthropic_test

import (
	"testing"

	"github.com/lyumen/lyumen/anthropic"
)

// BenchmarkDecodeMessages decodes the /v1/messages request of bench/'s load
// generator (anthropicBody in bench/translate.go): a system prompt, one
// message, sampling options and metadata.
func BenchmarkDecodeMessages(b *testing.B) {
	body := []byte(`{"model":"bench-model","max_tokens":256,"system":"You are a concise assistant. Answer in one sentence.",` +
		`"messages":[{"role":"user","content":"What does a reverse proxy do, in one sentence?"}],"temperature":0.2,"metadata":{"user_id":"bench"},"stream":true}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := anthropic.DecodeMessages(body); err != nil {
			b.Fatal(err)
		}
	}
}
