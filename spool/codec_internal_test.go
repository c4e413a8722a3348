package spool

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lyumen/lyumen"
)

// BenchmarkCodec compares the record encoding with encoding/json, the
// alternative it was chosen over (see codec.go).
func BenchmarkCodec(b *testing.B) {
	rec := benchRecord()
	payload := appendRecord(nil, rec)
	js, err := json.Marshal(rec)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("binary/encode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(payload)))
		buf := make([]byte, 0, 4096)
		for b.Loop() {
			buf = appendRecord(buf[:0], rec)
		}
	})
	b.Run("binary/decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(payload)))
		for b.Loop() {
			if _, err := decodeRecord(payload); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json/encode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(js)))
		for b.Loop() {
			if _, err := json.Marshal(rec); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json/decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(js)))
		for b.Loop() {
			var r lyumen.Record
			if err := json.Unmarshal(js, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchRecord is a typical chat exchange: a 1 KiB request, a 1 KiB answer.
func benchRecord() *lyumen.Record {
	return &lyumen.Record{
		ID:          "01970000-0000-7000-8000-000000000001",
		ReceivedAt:  time.Date(2025, 6, 1, 12, 30, 45, 123456789, time.UTC),
		Duration:    1234567 * time.Microsecond,
		TTFT:        89012 * time.Microsecond,
		Surface:     lyumen.SurfaceOpenAIChat,
		Model:       "gpt-4o",
		ServedModel: "gpt-4o-2024-08-06",
		Provider:    "openai",
		Stream:      true,
		Status:      200,
		Request:     []byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"` + strings.Repeat("lorem ipsum ", 85) + `"}]}`),
		Response: &lyumen.Response{
			ID:    "chatcmpl-123",
			Model: "gpt-4o-2024-08-06",
			Choices: []lyumen.Choice{{
				Message:      lyumen.Message{Role: "assistant", Content: strings.Repeat("dolor sit amet ", 68)},
				FinishReason: "stop",
			}},
			Usage: &lyumen.Usage{PromptTokens: 250, CompletionTokens: 240, TotalTokens: 490},
		},
		Usage:        lyumen.Usage{PromptTokens: 250, CompletionTokens: 240, TotalTokens: 490},
		UserAgent:    "OpenAI/Python 1.82.0",
		Country:      "DE",
		Completeness: lyumen.Complete,
		Attempts:     []lyumen.Attempt{{Provider: "openai", Model: "gpt-4o-2024-08-06", Status: 200, Duration: 1200 * time.Millisecond}},
	}
}
