package spool

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

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
		Conversation: &lyumen.Conversation{
			Messages: []lyumen.Message{
				{Role: "system", Content: "You are a helpful assistant."},
				{Role: "user", Content: strings.Repeat("lorem ipsum ", 85)},
			},
			Tools:       []lyumen.Tool{{Name: "search", Description: "Search the web.", Parameters: []byte(`{"type":"object"}`)}},
			ToolChoice:  &lyumen.ToolChoice{Mode: "auto"},
			MaxTokens:   512,
			Temperature: &temperature,
			Stop:        []string{"\n\n"},
		},
	}
}

var temperature = 0.7

// TestDecodeRecord_OldVersions reads payloads written by earlier versions
// of the encoding, as segments left by an older release hold them:
// testdata/record_v1.bin (the canonical conversation as JSON),
// record_v2.bin (no Tool.Strict), record_v3.bin (no Message.Reasoning or
// Refusal) and record_v4.bin (no Conversation.FrequencyPenalty or
// PresencePenalty) are benchRecord as those releases wrote it. Each is
// written back in the current version.
func TestDecodeRecord_OldVersions(t *testing.T) {
	for _, version := range []byte{1, 2, 3, 4} {
		p, err := os.ReadFile(filepath.Join("testdata", fmt.Sprintf("record_v%d.bin", version)))
		if err != nil {
			t.Fatal(err)
		}
		if p[0] != version {
			t.Fatalf("record_v%d.bin holds version %d", version, p[0])
		}
		got, err := decodeRecord(p)
		if err != nil {
			t.Fatalf("version %d: %v", version, err)
		}
		if diff := cmp.Diff(benchRecord(), got); diff != "" {
			t.Errorf("version %d (-want +got):\n%s", version, diff)
		}
		if again := appendRecord(nil, got); again[0] != recordVersion || bytes.Equal(again, p) {
			t.Errorf("a record read from version %d is written as version %d", version, again[0])
		}
	}
}

// FuzzDecodeRecord checks that decodeRecord never panics on any payload,
// and that what it accepts encodes to a payload that decodes the same.
func FuzzDecodeRecord(f *testing.F) {
	for _, name := range []string{"record_v1.bin", "record_v2.bin", "record_v3.bin", "record_v4.bin", "record_v5.bin"} {
		old, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(old)
	}
	f.Add(appendRecord(nil, benchRecord()))
	f.Add(appendRecord(nil, &lyumen.Record{Conversation: &lyumen.Conversation{}}))
	f.Add(appendRecord(nil, &lyumen.Record{}))
	f.Fuzz(func(t *testing.T, p []byte) {
		rec, err := decodeRecord(p)
		if err != nil {
			return
		}
		again, err := decodeRecord(appendRecord(nil, rec))
		if err != nil {
			t.Fatalf("a decoded record does not decode after encoding: %v", err)
		}
		if diff := cmp.Diff(rec, again, cmpopts.EquateNaNs()); diff != "" {
			t.Errorf("(-first +again):\n%s", diff)
		}
	})
}

// TestAppendRecord_CurrentVersion holds the current version's layout to
// testdata/record_v5.bin: benchRecord with every field version 5 added
// set. Records a build has written must decode in every later one, so a
// change to the layout that keeps recordVersion fails here (1ab0415 grew
// version 5 after db26d12 had written it): bump recordVersion, read the
// old layout under its number, and keep this file as the old version's.
func TestAppendRecord_CurrentVersion(t *testing.T) {
	rec := benchRecord()
	rec.Conversation.FrequencyPenalty, rec.Conversation.PresencePenalty = new(0.5), new(-0.25)
	rec.Usage.CachedTokens, rec.Usage.ReasoningTokens = 128, 64
	u := rec.Usage
	rec.Response.Usage = &u
	want, err := os.ReadFile(filepath.Join("testdata", "record_v5.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if got := appendRecord(nil, rec); recordVersion != 5 || !bytes.Equal(got, want) {
		t.Errorf("benchRecord is written as version %d in %d bytes, not as testdata/record_v5.bin (%d bytes): "+
			"a new layout needs a new recordVersion", got[0], len(got), len(want))
	}
	got, err := decodeRecord(want)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rec, got); diff != "" {
		t.Errorf("testdata/record_v5.bin (-want +got):\n%s", diff)
	}
}
