package openai_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/ssestream"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/openai"
)

// validCompletions are bodies DecodeCompletions accepts, with the request
// it must make of each (Surface and Body are filled in by the test).
var validCompletions = []struct {
	name string
	body string
	want lyumen.Request
}{
	{
		name: "string prompt, official default of 16 tokens",
		body: `{"model":"gpt-3.5-turbo-instruct","prompt":"Once upon a time"}`,
		want: lyumen.Request{Model: "gpt-3.5-turbo-instruct", MaxTokens: 16, N: 1, Messages: []lyumen.Message{{Role: "user", Content: "Once upon a time"}}},
	},
	{
		name: "array of one prompt, sampling, stop, stream with usage",
		body: `{"model":"m","prompt":["Say this is a test"],"max_tokens":7,"temperature":0,"top_p":1,"stop":"\n","stream":true,"stream_options":{"include_usage":true},"n":1,"echo":false,"best_of":1,"logprobs":null,"suffix":"","presence_penalty":0.5,"frequency_penalty":-1,"seed":3,"user":"u"}`,
		want: lyumen.Request{Model: "m", MaxTokens: 7, Temperature: ptr(0.0), TopP: ptr(1.0), Stop: []string{"\n"}, Stream: true, IncludeUsage: true, Seed: ptr(int64(3)), N: 1,
			PresencePenalty: ptr(0.5), FrequencyPenalty: ptr(-1.0),
			Messages: []lyumen.Message{{Role: "user", Content: "Say this is a test"}}},
	},
	{
		name: "a prompt of digits is text",
		body: `{"model":"m","prompt":["42"]}`,
		want: lyumen.Request{Model: "m", MaxTokens: 16, N: 1, Messages: []lyumen.Message{{Role: "user", Content: "42"}}},
	},
	{
		name: "stop sequences, empty prompt, max_tokens null",
		body: `{"model":"m","prompt":"","stop":["a","b"],"max_tokens":null}`,
		want: lyumen.Request{Model: "m", MaxTokens: 16, N: 1, Stop: []string{"a", "b"}, Messages: []lyumen.Message{{Role: "user"}}},
	},
}

func TestDecodeCompletions(t *testing.T) {
	for _, tc := range validCompletions {
		t.Run(tc.name, func(t *testing.T) {
			got, err := openai.DecodeCompletions([]byte(tc.body))
			if err != nil {
				t.Fatalf("DecodeCompletions: %v", err)
			}
			want := tc.want
			want.Surface = lyumen.SurfaceOpenAICompletions
			want.Body = []byte(tc.body)
			if diff := cmp.Diff(&want, got); diff != "" {
				t.Errorf("DecodeCompletions mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

var invalidCompletions = []struct {
	name      string
	body      string
	wantParam string
	wantMsg   string
}{
	{name: "empty body", body: ``},
	{name: "not JSON", body: `{"model":`},
	{name: "array body", body: `["x"]`},
	{name: "missing model", body: `{"prompt":"x"}`, wantParam: "model"},
	{name: "missing prompt", body: `{"model":"m"}`, wantParam: "prompt"},
	{name: "null prompt", body: `{"model":"m","prompt":null}`, wantParam: "prompt"},
	{name: "prompt a number", body: `{"model":"m","prompt":5}`, wantParam: "prompt"},
	{name: "prompt an object", body: `{"model":"m","prompt":{"text":"x"}}`, wantParam: "prompt"},
	{name: "empty prompt array", body: `{"model":"m","prompt":[]}`, wantParam: "prompt"},
	{name: "null in prompt array", body: `{"model":"m","prompt":[null]}`, wantParam: "prompt"},
	{name: "n zero", body: `{"model":"m","prompt":"x","n":0}`, wantParam: "n"},
	{name: "negative max_tokens", body: `{"model":"m","prompt":"x","max_tokens":-1}`, wantParam: "max_tokens"},
	{name: "max_tokens 0, which would be no limit", body: `{"model":"m","prompt":"x","max_tokens":0}`, wantParam: "max_tokens"},
	{name: "more answers than a stream may hold", body: `{"model":"m","prompt":["a","b","c"],"n":50}`, wantParam: "n"},
	{name: "stop a number", body: `{"model":"m","prompt":"x","stop":1}`, wantParam: "stop"},
	{name: "stream not a bool", body: `{"model":"m","prompt":"x","stream":1}`, wantParam: "stream"},
	{name: "include_usage not a bool", body: `{"model":"m","prompt":"x","stream_options":{"include_usage":"yes"}}`, wantParam: "stream_options.include_usage"},
	{name: "duplicate prompt", body: `{"model":"m","prompt":"x","prompt":"y"}`, wantParam: "prompt"},

	{name: "tools", body: `{"model":"m","prompt":"x","tools":[{"type":"function","function":{"name":"f"}}]}`, wantParam: "tools", wantMsg: "the completions API has no tool calls"},
	{name: "functions", body: `{"model":"m","prompt":"x","functions":[{"name":"f"}]}`, wantParam: "functions", wantMsg: "the completions API has no tool calls"},
}

// TestDecodeCompletions_RawOnly: what only a raw completion can do is
// accepted, for an upstream that serves completions itself, and names why
// it cannot be translated for one that does not.
func TestDecodeCompletions_RawOnly(t *testing.T) {
	for _, tc := range []struct {
		name, body, param, msg string
		n                      int // answers asked for: one per prompt and n
	}{
		{"several prompts", `{"model":"m","prompt":["a","b"]}`, "prompt", "an array of 2 prompts cannot be translated", 2},
		{"several prompts that look like numbers", `{"model":"m","prompt":["42","7"]}`, "prompt", "an array of 2 prompts cannot be translated", 2},
		{"token prompt", `{"model":"m","prompt":[1,2,3]}`, "prompt", "prompts given as tokens cannot be translated", 1},
		{"token prompts", `{"model":"m","prompt":[[1,2],[3]],"n":3}`, "prompt", "prompts given as tokens cannot be translated", 6},
		{"n above one", `{"model":"m","prompt":"x","n":2}`, "n", "cannot be translated", 2},
		{"echo", `{"model":"m","prompt":"x","echo":true}`, "echo", "cannot be translated", 1},
		{"suffix", `{"model":"m","prompt":"x","suffix":"end"}`, "suffix", "cannot be translated", 1},
		{"logprobs", `{"model":"m","prompt":"x","logprobs":2}`, "logprobs", "cannot be translated", 1},
		{"best_of", `{"model":"m","prompt":"x","best_of":3}`, "best_of", "cannot be translated", 1},
		{"logit_bias", `{"model":"m","prompt":"x","logit_bias":{"50256":-100}}`, "logit_bias", "cannot be translated", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := openai.DecodeCompletions([]byte(tc.body))
			if err != nil {
				t.Fatalf("DecodeCompletions: %v", err)
			}
			if u := req.Untranslated; u == nil || u.Param != tc.param || u.Code != "unsupported_parameter" || !strings.Contains(u.Message, tc.msg) {
				t.Errorf("Untranslated = %+v, want param %s and %q", u, tc.param, tc.msg)
			}
			// What a dataset would pair with the wrong answer is left to
			// the recorded body.
			if req.Messages != nil || req.N != tc.n || req.ScoreOnly {
				t.Errorf("messages %v, n %d, score only %v; want none, %d, false", req.Messages, req.N, req.ScoreOnly, tc.n)
			}
		})
	}
	req, err := openai.DecodeCompletions([]byte(`{"model":"m","prompt":"x","echo":true,"max_tokens":0}`))
	if err != nil || !req.ScoreOnly || req.MaxTokens != 0 {
		t.Errorf("echo with max_tokens 0: %+v, %v; want a request to score the prompt only", req, err)
	}
}

func TestDecodeCompletions_Invalid(t *testing.T) {
	for _, tc := range invalidCompletions {
		t.Run(tc.name, func(t *testing.T) {
			got, err := openai.DecodeCompletions([]byte(tc.body))
			checkInvalid(t, got, err, tc.wantParam, tc.wantMsg)
		})
	}
}

func FuzzDecodeCompletions(f *testing.F) {
	for _, tc := range validCompletions {
		f.Add([]byte(tc.body))
	}
	for _, tc := range invalidCompletions {
		f.Add([]byte(tc.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := openai.DecodeCompletions(body)
		if err != nil {
			checkFuzzError(t, req, err)
			return
		}
		// One user message, or none and why it cannot be translated.
		one := len(req.Messages) == 1 && req.Messages[0].Role == "user" && req.Untranslated == nil
		raw := req.Messages == nil && req.Untranslated != nil
		if req.Model == "" || !one && !raw || req.N < 1 || req.N > lyumen.MaxChoices ||
			req.Surface != lyumen.SurfaceOpenAICompletions || !bytes.Equal(req.Body, body) || req.MaxTokens < 0 {
			t.Fatalf("accepted a request that is not one user message or a raw one, or mislabelled: %+v", req)
		}
		checkCanonical(t, req)
	})
}

func TestEncodeCompletion_SDK(t *testing.T) {
	resp := &lyumen.Response{ID: "chatcmpl-abc", Model: "m-1", Usage: &lyumen.Usage{PromptTokens: 5, CompletionTokens: 7, TotalTokens: 12},
		Choices: []lyumen.Choice{{Message: lyumen.Message{Role: "assistant", Content: "This is indeed a test"}, FinishReason: "length"}}}
	var c sdk.Completion
	if err := json.Unmarshal(openai.EncodeCompletion(resp, "public", now), &c); err != nil {
		t.Fatal(err)
	}
	type view struct {
		ID, Object, Model, Text, Finish string
		Created, Total                  int64
		LogprobsNull                    bool
	}
	got := view{c.ID, string(c.Object), c.Model, c.Choices[0].Text, string(c.Choices[0].FinishReason), c.Created, c.Usage.TotalTokens,
		c.Choices[0].JSON.Logprobs.Raw() == "null"}
	want := view{"cmpl-abc", "text_completion", "m-1", "This is indeed a test", "length", now.Unix(), 12, true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("completion as the SDK reads it (-want +got):\n%s", diff)
	}
}

func TestCompletionsStream_SDK(t *testing.T) {
	for _, includeUsage := range []bool{false, true} {
		req := &lyumen.Request{Model: "public", IncludeUsage: includeUsage}
		enc := openai.NewCompletionsStream(req, now)
		var out []byte
		for _, ev := range []lyumen.Event{
			{ID: "chatcmpl-s", Choices: []lyumen.ChoiceDelta{{Role: "assistant"}}}, // nothing for the client
			{ID: "chatcmpl-s", Choices: []lyumen.ChoiceDelta{{Content: "Hel"}}},
			{ID: "chatcmpl-s", Choices: []lyumen.ChoiceDelta{{Content: "lo"}}},
			{ID: "chatcmpl-s", Choices: []lyumen.ChoiceDelta{{FinishReason: "stop"}}},
			{ID: "chatcmpl-s", Usage: &lyumen.Usage{PromptTokens: 1, CompletionTokens: 2, TotalTokens: 3}},
		} {
			out = enc.Event(out, &ev)
		}
		out = enc.End(out, nil)
		res := &http.Response{Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: io.NopCloser(bytes.NewReader(out))}
		s := ssestream.NewStream[sdk.Completion](ssestream.NewDecoder(res), nil)
		var text, finish string
		chunks, usage := 0, int64(0)
		for s.Next() {
			c := s.Current()
			chunks++
			if c.ID != "cmpl-s" || c.Object != "text_completion" {
				t.Errorf("chunk id %q object %q", c.ID, c.Object)
			}
			for _, ch := range c.Choices {
				text += ch.Text
				if ch.FinishReason != "" {
					finish = string(ch.FinishReason)
				}
			}
			usage += c.Usage.TotalTokens
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		wantChunks, wantUsage := 3, int64(0)
		if includeUsage {
			wantChunks, wantUsage = 4, 3
		}
		if text != "Hello" || finish != "stop" || chunks != wantChunks || usage != wantUsage {
			t.Errorf("include_usage %v: text %q finish %q, %d chunks, usage %d; want Hello stop %d %d",
				includeUsage, text, finish, chunks, usage, wantChunks, wantUsage)
		}
		if !bytes.HasSuffix(out, []byte("data: [DONE]\n\n")) {
			t.Errorf("stream does not end with [DONE]: %s", out)
		}
	}
}
