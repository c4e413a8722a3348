package openai

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fastCompletionSeeds start with answers as upstreams send them (OpenAI,
// OpenRouter, Groq, vLLM, Ollama), which the fast path must take; the rest
// probe its edges.
var fastCompletionSeeds = []string{
	`{"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion","created":1741569952,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I assist you today?","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default","system_fingerprint":"fp_06737a9306"}`,
	`{"id":"gen-1741569952-abc","provider":"OpenAI","model":"openai/gpt-4o-mini","object":"chat.completion","created":1741569952,"choices":[{"logprobs":null,"finish_reason":"stop","native_finish_reason":"stop","index":0,"message":{"role":"assistant","content":"Line one.\nLine two: \"quoted\", a tab\there, a path a\/b.","refusal":null,"reasoning":null}}],"usage":{"prompt_tokens":14,"completion_tokens":20,"total_tokens":34}}`,
	`{"id":"chatcmpl-1","object":"chat.completion","created":1741569952,"model":"llama-3.1-8b-instant","choices":[{"index":0,"message":{"role":"assistant","content":"Ça marche — 日本語も。"},"logprobs":null,"finish_reason":"stop"}],"usage":{"queue_time":0.017,"prompt_tokens":40,"prompt_time":0.002,"completion_tokens":9,"completion_time":0.0075,"total_tokens":49,"total_time":0.0095},"system_fingerprint":"fp_1","x_groq":{"id":"req_01"}}`,
	`{"id":"chatcmpl-2","object":"chat.completion","created":1741569952,"model":"Qwen/Qwen2.5-7B","choices":[{"index":0,"message":{"role":"assistant","reasoning_content":null,"content":"4","tool_calls":[]},"logprobs":null,"finish_reason":"stop","stop_reason":null}],"usage":{"prompt_tokens":20,"total_tokens":21,"completion_tokens":1,"prompt_tokens_details":null},"prompt_logprobs":null}`,
	`{"id":"chatcmpl-3","object":"chat.completion","created":1741569952,"model":"llama3.2","system_fingerprint":"fp_ollama","choices":[{"index":0,"message":{"role":"assistant","content":""},"finish_reason":"length"}],"usage":{"prompt_tokens":26,"completion_tokens":1,"total_tokens":27}}`,
	`{"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":"a"},"finish_reason":"stop"},{"index":1,"message":{"role":"assistant","content":"b"},"finish_reason":"stop"}]}`,
	` { "id" : "c" , "choices" : [ { "index" : 0 , "message" : { "content" : null } , "finish_reason" : null } ] , "usage" : null , "error" : null } `,
	`{}`, `{"choices":null}`, `{"choices":[]}`, `{"choices":[{}]}`, `{"choices":[{"message":null,"delta":null}]}`,
	// The general path's cases.
	`{"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}`,
	`{"error":{"message":"overloaded","type":"server_error"}}`,
	`{"id":"c","choices":[{"index":0,"message":{"content":"caf\u00e9"}}]}`,
	`{"ID":"c","choices":[]}`, `{"id":"c","Choices":[{"index":1}]}`, `{"id":"c","choices":[{"Index":1}]}`,
	`{"id":"c","choices":[{"index":0,"message":{"CONTENT":"x"}}]}`, `{"id":"c","usage":{"Total_Tokens":3}}`,
	`{"id":"c","choices":[{"index":0,"message":{"ſole":"x"}}]}`, `{"id":"c","\u0069d":"d"}`,
	`{"id":"a","id":"b"}`, `{"choices":[{"index":0,"index":1}]}`, `{"usage":{"total_tokens":1,"total_tokens":2}}`,
	`{"created":1.5}`, `{"created":1e3}`, `{"created":-0}`, `{"created":"1"}`, `{"created":99999999999999999999}`,
	`{"usage":{"prompt_tokens":1.0}}`, `{"usage":{"prompt_tokens":-3}}`, `{"usage":[]}`, `{"choices":{}}`,
	`{"choices":[{"index":128}]}`, `{"choices":[{"index":-1}]}`, `{"choices":[{"index":01}]}`,
	`{"choices":[{"delta":{"content":"x"}}]}`, `{"choices":[{"message":{"content":5}}]}`,
	`{"choices":[{"index":0,"error":null,"finish_reason":"stop"}]}`, `{"choices":[{"finish_reason":"error","error":{"code":502}}]}`,
	`{"choices":[{"message":{"content":"4","reasoning_content":"two and two","refusal":null,"reasoning":"x"}}]}`,
	`{"choices":[{"message":{"reasoning":{"effort":"low"}}}]}`, `{"choices":[{"message":{"refusal":"a\"b"}}]}`,
	`{"choices":[{"message":{"content":"4","reasoning_content":"First, add.\n\nThen check: \u00e9 \"ok\"."}}]}`,
	`{"choices":[{"message":{"role":"assistant","content":"a"}}],"x":{"y":[1,{"z":null}]}}`,
	`{"id":"c"}x`, `{"id":"c"`, `{"id":"c",}`, `[]`, `null`, `"x"`, ``, `{"id":"\xff"}`, "{\"id\":\"a\x01\"}",
	// Usage details: the cached and reasoning counts are read, the rest skipped.
	`{"usage":{"prompt_tokens":9,"prompt_tokens_details":{"audio_tokens":1,"cached_tokens":5},"completion_tokens_details":{"reasoning_tokens":7,"cached_tokens":3}}}`,
	`{"usage":{"prompt_tokens_details":{"cached_tokens":5,"cached_tokens":6}}}`, `{"usage":{"prompt_tokens_details":{"Cached_Tokens":5}}}`,
	`{"usage":{"Prompt_Tokens_Details":{"cached_tokens":5}}}`, `{"usage":{"prompt_tokens_details":{"cached_tokens":5},"prompt_tokens_details":null}}`,
	`{"usage":{"prompt_tokens_details":[]}}`, `{"usage":{"completion_tokens_details":"x"}}`, `{"usage":{"prompt_tokens_details":{"cached_tokens":1.5}}}`,
	`{"usage":{"prompt_tokens_details":{"reasoning_tokens":"x","cached_tokens":2}}}`, `{"usage":{"completion_tokens_details":{"reasoning_tokens":null}}}`,
	`{"usage":{"prompt_tokens_details":{"cached_tokens":"5"}}}`, `{"usage":{"prompt_tokens_details":{"cached\u005ftokens":5}}}`,
	`{"usage":{"prompt_tokens":9007199254740993,"prompt_tokens_details":{"cached_tokens":9007199254740993}}}`,
	`{"usage":{"prompt_tokens":9007199254740992,"completion_tokens":-9007199254740992}}`, `{"created":9007199254740993}`, `{"created":-0,"usage":{"total_tokens":-0}}`,
}

// FuzzFastCompletion checks that whatever the fast path accepts, the
// general path (decodeCompletion, encoding/json) reads the same, without
// an error.
func FuzzFastCompletion(f *testing.F) {
	for _, s := range fastCompletionSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ok := fastCompletion(data)
		if !ok {
			return
		}
		slow, err := decodeCompletion(data)
		if err != nil {
			t.Fatalf("fast path accepted %q, encoding/json refused it: %v", data, err)
		}
		if diff := cmp.Diff(slow, fast); diff != "" {
			t.Errorf("%q (-encoding/json +fast):\n%s", data, diff)
		}
	})
}

// TestFastCompletion_TakesTheCommonShapes checks that upstreams' usual
// answers take the fast path, so that it is not silently bypassed, and
// that tool calls and errors do not.
func TestFastCompletion_TakesTheCommonShapes(t *testing.T) {
	for i, s := range fastCompletionSeeds[:12] {
		if _, ok := fastCompletion([]byte(s)); !ok {
			t.Errorf("seed %d %s: not taken by the fast path", i, s)
		}
	}
	// A reasoning model's answer, its trace full of escapes (DeepSeek, vLLM).
	reasoning := `{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"4","reasoning_content":"First, add.\n\nThen check: \"2+2\"."},"finish_reason":"stop"}]}`
	if cc, ok := fastCompletion([]byte(reasoning)); !ok || text(cc.Choices[0].Message.ReasoningContent) != "First, add.\n\nThen check: \"2+2\"." {
		t.Errorf("a reasoning answer: fast path %v, reasoning %q", ok, cc.Choices[0].Message.ReasoningContent)
	}
	details := `{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"4"},"finish_reason":"stop"}],"usage":{"prompt_tokens":2006,"completion_tokens":300,"total_tokens":2306,"prompt_tokens_details":{"cached_tokens":1920,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":192,"audio_tokens":0}}}`
	if cc, ok := fastCompletion([]byte(details)); !ok || cc.Usage == nil || cc.Usage.CachedTokens != 1920 || cc.Usage.ReasoningTokens != 192 {
		t.Errorf("usage details: fast path %v, usage %+v", ok, cc.Usage)
	}
	for _, s := range fastCompletionSeeds[12:14] {
		if _, ok := fastCompletion([]byte(s)); ok {
			t.Errorf("%s: taken by the fast path, which does not read it", s)
		}
	}
}

// BenchmarkDecodeCompletion compares the fast path with encoding/json on
// OpenAI's answer.
func BenchmarkDecodeCompletion(b *testing.B) {
	data := []byte(fastCompletionSeeds[0])
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := fastCompletion(data); !ok {
				b.Fatal("not taken")
			}
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeCompletion(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
