package openai

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tidwall/gjson"

	"github.com/lyumen/lyumen"
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
	// Usage details: the cached and reasoning counts are read, the rest skipped.
	`{"id":"c","choices":[],"usage":{"prompt_tokens":9,"prompt_tokens_details":{"audio_tokens":1,"cached_tokens":5},"completion_tokens_details":{"reasoning_tokens":7,"cached_tokens":3}}}`,
	`{"usage":{"prompt_tokens_details":{"cached_tokens":5,"cached_tokens":6}}}`, `{"usage":{"prompt_tokens_details":{"Cached_Tokens":5}}}`,
	`{"usage":{"Prompt_Tokens_Details":{"cached_tokens":5}}}`, `{"usage":{"prompt_tokens_details":{"cached_tokens":5},"prompt_tokens_details":null}}`,
	`{"usage":{"prompt_tokens_details":[]}}`, `{"usage":{"completion_tokens_details":"x"}}`, `{"usage":{"prompt_tokens_details":{"cached_tokens":1.5}}}`,
	`{"usage":{"completion_tokens_details":{"reasoning_tokens":null}}}`, `{"usage":{"prompt_tokens_details":{"cached_tokens":"5"}}}`,
	// OpenAI's default: random padding after the choices
	`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4o-mini","service_tier":"default","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":" words"},"logprobs":null,"finish_reason":null}],"obfuscation":"nB2U"}`,
	`{"obfuscation":"x","id":"c","choices":[{"index":0,"delta":{"content":"a"}}]}`,
	`{"id":"c","choices":[{"index":0,"delta":{"content":"a"}}],"obfuscation":"x","obfuscation":"y"}`,
	`{"id":"c","choices":[{"index":0,"delta":{"content":"a"}}],"obfuscation":"x\"y"}`,
	`{"id":"c","choices":[{"index":0,"delta":{"content":"a"}}],"obfuscation":7}`,
}

// FuzzFastChunk checks that whatever the fast path accepts is valid JSON
// that the general path reads the same.
func FuzzFastChunk(f *testing.F) {
	for _, s := range fastChunkSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ok := fastChunk(data, nil)
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
		if _, ok := fastChunk([]byte(s), nil); !ok {
			t.Errorf("%s: not taken by the fast path", s)
		}
	}
	usage := `{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":2006,"completion_tokens":300,"total_tokens":2306,"prompt_tokens_details":{"cached_tokens":1920,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":192,"audio_tokens":0}}}`
	want := &lyumen.Usage{PromptTokens: 2006, CompletionTokens: 300, TotalTokens: 2306, CachedTokens: 1920, ReasoningTokens: 192}
	if ev, ok := fastChunk([]byte(usage), nil); !ok || !cmp.Equal(want, ev.Usage) {
		t.Errorf("usage details: fast path %v, usage %+v", ok, ev.Usage)
	}
}

// FuzzChunkMemo checks that a stream's chunks read the same through the
// memo of the one before as on their own.
func FuzzChunkMemo(f *testing.F) {
	for i, s := range fastChunkSeeds {
		f.Add([]byte(fastChunkSeeds[0]), []byte(s))
		f.Add([]byte(s), []byte(fastChunkSeeds[(i+1)%len(fastChunkSeeds)]))
	}
	f.Add([]byte(fastChunkSeeds[0]), []byte(strings.Replace(fastChunkSeeds[0], " words", "a\\\"b", 1)))
	f.Add([]byte(fastChunkSeeds[0]), []byte(strings.Replace(fastChunkSeeds[0], " words", "", 1)))
	f.Add([]byte(fastChunkSeeds[1]), []byte(strings.Replace(fastChunkSeeds[1], `"content":""`, `"content":"x\u0000"`, 1)))
	padded := fastChunkSeeds[len(fastChunkSeeds)-5]
	f.Add([]byte(padded), []byte(strings.Replace(strings.Replace(padded, " words", " more", 1), "nB2U", "Qz", 1)))
	f.Add([]byte(padded), []byte(strings.Replace(padded, "nB2U", `n\"`, 1)))
	f.Add([]byte(padded), []byte(strings.Replace(padded, `"nB2U"`, `null`, 1)))
	for _, twice := range []string{`"content":"a","content":null`, `"content":null,"content":"a"`, `"content":"a","content":"b"`} {
		c := strings.Replace(fastChunkSeeds[0], `"content":" words"`, twice, 1)
		f.Add([]byte(c), []byte(strings.Replace(c, `"a"`, `"z"`, 1)))
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		var m chunkMemo
		// check reads data through m, whose last chunk was prev.
		check := func(data, prev []byte) {
			got, gotErr := m.parse(data)
			want, wantErr := parseChunk(data)
			if (gotErr != nil) != (wantErr != nil) {
				t.Fatalf("%q after %q: error %v, want %v", data, prev, gotErr, wantErr)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%q after %q (-alone +memo):\n%s", data, prev, diff)
			}
		}
		check(a, nil)
		check(b, a)
		check(a, b)
		// a's shape around b's bytes, so that the memo of a is tried
		// against other strings, plain or not, in its content and padding.
		m = chunkMemo{}
		m.parse(a)
		if len(m.head) == 0 {
			return
		}
		x, y := b[:len(b)/2], b[len(b)/2:]
		data := slices.Concat(m.head, x, m.mid)
		if m.padded {
			data = slices.Concat(data, y, m.tail)
		}
		check(data, a)
	})
}

// TestChunkMemo_TakesTheCommonShape checks that a stream's commonest chunks,
// padded or not, are remembered, so the memo is not silently bypassed, and
// what the next chunk reads as through it.
func TestChunkMemo_TakesTheCommonShape(t *testing.T) {
	var m chunkMemo
	if _, err := m.parse([]byte(fastChunkSeeds[0])); err != nil {
		t.Fatal(err)
	}
	if len(m.head) == 0 {
		t.Fatal("the chunk was not remembered")
	}
	ev, err := m.parse([]byte(strings.Replace(fastChunkSeeds[0], " words", " more", 1)))
	if err != nil {
		t.Fatal(err)
	}
	want := lyumen.Event{ID: "chatcmpl-1", Model: "gpt-4o-mini", Choices: []lyumen.ChoiceDelta{{Content: " more"}}}
	if diff := cmp.Diff(want, ev); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	// OpenAI pads each chunk with a random string after the choices.
	padded := fastChunkSeeds[len(fastChunkSeeds)-5]
	if _, err := m.parse([]byte(padded)); err != nil {
		t.Fatal(err)
	}
	next := strings.Replace(strings.Replace(padded, " words", " more", 1), "nB2U", "Qz", 1)
	if content, ok := m.hit([]byte(next)); !ok || string(content) != " more" {
		t.Errorf("a padded chunk after another: hit %q, %v; want \" more\", true", content, ok)
	}
}

// BenchmarkParseChunk compares the fast path with the general one on the
// commonest chunk, and with the memo of the chunk before.
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
	b.Run("memo", func(b *testing.B) { // a stream's next chunk, after data
		next := []byte(strings.Replace(fastChunkSeeds[0], " words", " more", 1))
		var m chunkMemo
		m.parse(data)
		b.ReportAllocs()
		for b.Loop() {
			m.parse(next)
		}
	})
	b.Run("memo-padded", func(b *testing.B) { // the same, padded as OpenAI does
		padded := fastChunkSeeds[len(fastChunkSeeds)-5]
		next := []byte(strings.Replace(strings.Replace(padded, " words", " more", 1), "nB2U", "Qz", 1))
		var m chunkMemo
		m.parse([]byte(padded))
		b.ReportAllocs()
		for b.Loop() {
			m.parse(next)
		}
	})
}
