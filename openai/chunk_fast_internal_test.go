package openai

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tidwall/gjson"
)

var fastChunkSeeds = []string{
	`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4o-mini","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":" words"},"logprobs":null,"finish_reason":null}]}`,
	`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1741569952,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"finish_reason":null}],"usage":null}`,
	`{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`,
	`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":32,"completion_tokens":60,"total_tokens":92,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}`,
	` { "id" : "c" , "choices" : [ { "index" : 3 , "delta" : { "content" : "héllo" } } ] } `,
	`{"id":"c","choices":[]}`, `{}`, `{"choices":null}`, `{"choices":[{}]}`,
	`{"id":"c","choices":[{"index":0,"delta":{"content":"a\nb"}}]}`,
	`{"id":"c","choices":[{"index":128,"delta":{"content":"a"}}]}`,
	`{"id":"c","choices":[{"index":01,"delta":{"content":"a"}}]}`,
	`{"id":"c","choices":[{"index":1.0,"delta":{"content":"a"}}]}`,
	`{"id":"c","choices":[{"index":-1,"delta":{"content":"a"}}]}`,
	`{"id":"c","choices":[{"index":0,"delta":{"content":"a"}}],"usage":{"prompt_tokens":1}}`,
	`{"usage":{"prompt_tokens":1,"prompt_tokens":2}}`, `{"usage":{"Prompt_Tokens":1}}`, `{"usage":{"total_tokens":1.5}}`,
	`{"usage":{"total_tokens":"3"}}`, `{"usage":{"total_tokens":99999999999999999999}}`, `{"usage":{"total_tokens":null}}`,
	`{"usage":{"prompt_tokens":1},"usage":null}`, `{"usage":null,"usage":{"prompt_tokens":-4}}`, `{"usage":{}}`, `{"usage":7}`,
	`{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{"}}]}}]}`,
	`{"error":{"message":"overloaded"}}`, `{"id":"c","n":-0.5e+3,"t":true,"f":false}`, `{"id":"c","n":-}`,
	`{"id":"c","choices":[{"index":0,"delta":{"content":"a"}}]`, `{"id":"c"}x`, `[]`, `"x"`, ``,
	`{"id":"c","choices":[{"index":0,"delta":{"content":"a"}},{"index":1,"delta":{"content":"b"}}],"choices":[{"index":2}]}`,
}

// FuzzFastChunk checks that whatever the fast path accepts is valid JSON
// that the general path reads the same.
func FuzzFastChunk(f *testing.F) {
	for _, s := range fastChunkSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ok := fastChunk(data)
		if !ok {
			return
		}
		if !gjson.ValidBytes(data) {
			t.Fatalf("fast path accepted invalid JSON %q", data)
		}
		slow, err := parseChunkGeneral(data)
		if err != nil {
			t.Fatalf("fast path accepted %q, the general path refused it: %v", data, err)
		}
		if diff := cmp.Diff(slow, fast); diff != "" {
			t.Errorf("%q (-general +fast):\n%s", data, diff)
		}
	})
}

// TestFastChunk_TakesTheCommonShapes checks that the chunks a stream is
// made of take the fast path, so that it is not silently bypassed.
func TestFastChunk_TakesTheCommonShapes(t *testing.T) {
	for _, s := range fastChunkSeeds[:9] {
		if _, ok := fastChunk([]byte(s)); !ok {
			t.Errorf("%s: not taken by the fast path", s)
		}
	}
}

// BenchmarkParseChunk compares the fast path with the general one on the
// commonest chunk.
func BenchmarkParseChunk(b *testing.B) {
	data := []byte(fastChunkSeeds[0])
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			parseChunk(data)
		}
	})
	b.Run("general", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			parseChunkGeneral(data)
		}
	})
}
