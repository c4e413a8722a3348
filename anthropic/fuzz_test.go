package anthropic_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/anthropic"
	"github.com/lyumen/lyumen/openai"
)

// FuzzDecodeMessages feeds the /v1/messages decoder arbitrary bodies. It
// must not panic; it refuses with a client-safe KindInvalid error, or
// returns a request that every translation can be attempted on.
func FuzzDecodeMessages(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/anthropic_*/*.request.in")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"q"}]}`,
		`{"model":"m","max_tokens":1,"system":[{"type":"text","text":"s"}],"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"image","source":{"type":"url","url":""}}]}]}]}`,
		`{"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":{"a":[1,{"b":null}]}}]}],"tools":[{"type":"bash_20250124","name":"bash"}],"tool_choice":{"type":"tool","name":"f"}}`,
		`{"model":"m","model":"n"}`, `{}`, `null`, `[]`, `"x"`, ``, `{"model":"m","max_tokens":1e3}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := anthropic.DecodeMessages(body)
		if err != nil {
			e, ok := errors.AsType[*lyumen.Error](err)
			if !ok || e.Kind != lyumen.KindInvalid || e.Message == "" {
				t.Fatalf("err = %#v, want a KindInvalid *lyumen.Error with a message", err)
			}
			status, env := anthropic.Error(err)
			if status != http.StatusBadRequest || !json.Valid(env) {
				t.Fatalf("error envelope %d %s", status, env)
			}
			return
		}
		if req.Surface != lyumen.SurfaceAnthropicMessages || req.Model == "" || req.MaxTokens < 1 || len(req.Messages) == 0 {
			t.Fatalf("accepted an invalid request: %+v", req)
		}
		for _, m := range req.Messages {
			if m.Parts != nil && m.Content != "" {
				t.Fatalf("message with both content and parts: %+v", m)
			}
		}
		if out, err := anthropic.EncodeRequest(req); err != nil {
			if lyumen.KindOf(err) != lyumen.KindInvalid {
				t.Fatalf("EncodeRequest: %v", err)
			}
		} else if !json.Valid(out) {
			t.Fatalf("EncodeRequest wrote invalid JSON: %s", out)
		}
		if out, err := openai.EncodeChatRequest(req); err == nil && !json.Valid(out) {
			t.Fatalf("EncodeChatRequest wrote invalid JSON: %s", out)
		}
		if n := anthropic.CountTokens(req); n < 0 {
			t.Fatalf("CountTokens = %d", n)
		}
	})
}

// FuzzStream feeds the client's SSE event parser arbitrary upstream
// streams, for a client on the Anthropic surface (events pass through) and
// on another (events are translated). It must not panic or loop; a
// translated stream, re-encoded as Anthropic events, must be a sequence the
// official SDK accepts.
func FuzzStream(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/openai_anthropic/*_stream.reply.in")
	more, _ := filepath.Glob("testdata/anthropic_anthropic/*_stream.reply.in")
	for _, s := range append(seeds, more...) {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"data: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"usage\":{\"input_tokens\":\"x\"}}}\n\ndata: {\"type\":\"message_stop\"}\n\n",
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":-5,\"content_block\":{\"type\":\"tool_use\",\"input\":{\"a\":1}}}\n\n" +
			"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":-5,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"}\"}}\n\n",
		"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":7},\"usage\":null}\n\n",
		"data: [DONE]\n\n", ": comment\n\n", "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, stream []byte) {
		for _, surface := range []lyumen.Surface{lyumen.SurfaceAnthropicMessages, lyumen.SurfaceOpenAIChat} {
			c := anthropic.NewClient("http://up.test", "k", nil, &canned{reply: stream})
			req := &lyumen.Request{Surface: surface, Model: "m", Stream: true, MaxTokens: 1, Body: []byte(`{"model":"m"}`),
				Messages: []lyumen.Message{{Role: "user", Content: "q"}}}
			st, err := c.ChatStream(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			enc := anthropic.NewStreamEncoder("public")
			var out []byte
			var asm lyumen.Assembler
			complete := false
			for range len(stream) + 2 { // at most one event per byte, and the end
				ev, err := st.Next()
				if errors.Is(err, io.EOF) {
					complete = true
					break
				}
				if err != nil {
					if lyumen.KindOf(err) != lyumen.KindUpstream {
						t.Fatalf("Next: %v, want a KindUpstream error", err)
					}
					break
				}
				if ev.Empty() {
					continue
				}
				if surface != lyumen.SurfaceAnthropicMessages && ev.Raw != nil {
					t.Fatal("a translated event carries Raw")
				}
				for _, d := range ev.Choices {
					for _, tc := range d.ToolCalls {
						if tc.Index < 0 {
							t.Fatalf("tool call index %d", tc.Index)
						}
					}
				}
				asm.Add(&ev)
				out = enc.Event(out, &ev)
			}
			st.Close()
			if surface == lyumen.SurfaceAnthropicMessages || !complete {
				continue
			}
			out = enc.End(out, asm.Response())
			if _, _, err := readStream(t, out); err != nil {
				t.Fatalf("SDK: %v\n%s", err, out)
			}
		}
	})
}
