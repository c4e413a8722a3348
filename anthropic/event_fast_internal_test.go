package anthropic

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

var fastTextDeltaSeeds = []string{
	`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" words"}}`,
	` { "delta" : { "text" : "héllo" , "type" : "text_delta" } , "type" : "content_block_delta" , "index" : 3 } `,
	`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":""}}`,
	// Left to parseGeneral:
	`{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"a"}}`,
	`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a\nb"}}`,
	`{"type":"content_block_delta","type":"ping","delta":{"type":"text_delta","text":"a"}}`,
	`{"type":"content_block_delta","delta":{"type":"text_delta","text":"a","text":"b"}}`,
	`{"type":"content_block_delta","delta":{"type":"text_delta"}}`, `{"type":"content_block_delta","delta":null}`,
	`{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":20}}`,
	`{"type":"ping"}`, `{"type":"content_block_delta","delta":{"type":"text_delta","text":"a"}`, `{}x`, ``,
}

// FuzzFastTextDelta checks that whatever the fast path reads, parseGeneral
// reads the same, for a translated and a pass-through stream.
func FuzzFastTextDelta(f *testing.F) {
	for _, s := range fastTextDeltaSeeds {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, raw bool) {
		if _, ok := fastTextDelta(data); !ok {
			return
		}
		fast := parser{raw: raw, id: "msg_1", model: "m", tools: []int{1}}
		general := fast
		ev, next, err := fast.parse("content_block_delta", data)
		wantEv, wantNext, wantErr := general.parseGeneral("content_block_delta", data)
		if err != nil || wantErr != nil {
			t.Fatalf("%q: errors %v and %v", data, err, wantErr)
		}
		if diff := cmp.Diff(wantEv, ev); diff != "" || next != wantNext {
			t.Errorf("%q: action %v, want %v (-general +fast):\n%s", data, next, wantNext, diff)
		}
		if diff := cmp.Diff(general, fast, cmp.AllowUnexported(parser{})); diff != "" {
			t.Errorf("%q: parser state (-general +fast):\n%s", data, diff)
		}
	})
}

// TestFastTextDelta_TakesTheCommonShape checks that text deltas take the
// fast path, so that it is not silently bypassed.
func TestFastTextDelta_TakesTheCommonShape(t *testing.T) {
	for _, s := range fastTextDeltaSeeds[:3] {
		if _, ok := fastTextDelta([]byte(s)); !ok {
			t.Errorf("%s: not taken by the fast path", s)
		}
	}
}

// BenchmarkParseTextDelta compares the fast path with parseGeneral on a
// text delta.
func BenchmarkParseTextDelta(b *testing.B) {
	data := []byte(fastTextDeltaSeeds[0])
	p := parser{id: "msg_1", model: "m"}
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p.parse("content_block_delta", data)
		}
	})
	b.Run("general", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p.parseGeneral("content_block_delta", data)
		}
	})
}
