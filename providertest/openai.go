// Package providertest has fake upstreams that speak the providers' real
// wire formats, for tests of everything that sits in front of them.
package providertest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Seen is one request the fake received.
type Seen struct {
	Path   string
	Header http.Header
	Body   map[string]any
}

// Behaviour says how the fake answers. The zero value answers normally.
type Behaviour struct {
	Status    int           // answer with this status and an OpenAI error envelope
	Delay     time.Duration // wait this long before the response headers
	DieAfter  int           // for streams: cut the connection after this many chunks
	ChunkGap  time.Duration // wait between stream chunks
	ToolCall  bool          // answer with a tool call instead of text
	ErrorText string        // the message in the error envelope
	Refusal   string        // answer with this refusal in place of content, streamed word by word
	Reasoning string        // think this aloud (reasoning_content) before the answer, streamed word by word
}

// OpenAI is a fake OpenAI-compatible upstream serving /v1/chat/completions,
// the legacy /v1/completions (see complete) and /v1/embeddings (see
// Embedding).
// Its text answer is "Echo: " and the last user message, streamed word by word.
type OpenAI struct {
	*httptest.Server
	mu   sync.Mutex
	seen []Seen
	b    Behaviour
}

// NewOpenAI starts a fake upstream, closed when the test ends.
func NewOpenAI(tb testing.TB) *OpenAI {
	tb.Helper()
	f := &OpenAI{}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	tb.Cleanup(f.Close)
	return f
}

// Set changes how the fake answers from now on.
func (f *OpenAI) Set(b Behaviour) {
	f.mu.Lock()
	f.b = b
	f.mu.Unlock()
}

// Seen returns the requests received so far.
func (f *OpenAI) Seen() []Seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Seen(nil), f.seen...)
}

// URL is the base URL a client is configured with.
func (f *OpenAI) BaseURL() string { return f.Server.URL + "/v1" }

// EchoText is what the fake answers to a conversation whose last user
// message is msg.
func EchoText(msg string) string { return "Echo: " + msg }

func (f *OpenAI) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		http.Error(w, `{"error":{"message":"bad json","type":"invalid_request_error"}}`, http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.seen = append(f.seen, Seen{Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
	b := f.b
	f.mu.Unlock()

	if r.URL.Path != "/v1/chat/completions" && r.URL.Path != "/v1/embeddings" && r.URL.Path != "/v1/completions" {
		writeError(w, http.StatusNotFound, "unknown path "+r.URL.Path)
		return
	}
	if b.Delay > 0 {
		select {
		case <-time.After(b.Delay):
		case <-r.Context().Done():
			return
		}
	}
	if b.Status != 0 && b.Status != http.StatusOK {
		msg := b.ErrorText
		if msg == "" {
			msg = http.StatusText(b.Status)
		}
		writeError(w, b.Status, msg)
		return
	}
	if r.URL.Path == "/v1/embeddings" {
		embed(w, body)
		return
	}
	if r.URL.Path == "/v1/completions" {
		f.complete(w, r, b, body)
		return
	}
	model, _ := body["model"].(string)
	text := EchoText(lastUser(body))
	if stream, _ := body["stream"].(bool); stream {
		opts, _ := body["stream_options"].(map[string]any)
		usage, _ := opts["include_usage"].(bool)
		f.stream(w, r, b, model, text, usage)
		return
	}
	msg := map[string]any{"role": "assistant", "content": text, "refusal": nil}
	if b.Refusal != "" {
		msg["content"], msg["refusal"] = nil, b.Refusal
	}
	if b.Reasoning != "" {
		msg["reasoning_content"] = b.Reasoning
	}
	finish := "stop"
	if b.ToolCall {
		msg["content"] = nil
		msg["tool_calls"] = []any{map[string]any{"id": "call_1", "type": "function",
			"function": map[string]any{"name": "get_weather", "arguments": `{"city":"Paris"}`}}}
		finish = "tool_calls"
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"id": "chatcmpl-fake", "object": "chat.completion", "created": 1700000000, "model": model,
		"choices": []any{map[string]any{"index": 0, "message": msg, "logprobs": nil, "finish_reason": finish}},
		"usage":   map[string]any{"prompt_tokens": 7, "completion_tokens": len(strings.Fields(text)), "total_tokens": 7 + len(strings.Fields(text))},
	})
}

func (f *OpenAI) stream(w http.ResponseWriter, r *http.Request, b Behaviour, model, text string, usage bool) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	rc := http.NewResponseController(w)
	sent := 0
	send := func(v any) bool {
		if b.DieAfter > 0 && sent == b.DieAfter {
			// Cut the connection without ending the chunked body, as a
			// crashing upstream does.
			conn, _, err := rc.Hijack()
			if err == nil {
				conn.Close()
			}
			return false
		}
		if b.ChunkGap > 0 && sent > 0 {
			select {
			case <-time.After(b.ChunkGap):
			case <-r.Context().Done():
				return false
			}
		}
		data, _ := json.Marshal(v)
		if _, err := fmt.Fprintf(w, "data: %s\n\n", data); err != nil {
			return false
		}
		sent++
		return rc.Flush() == nil
	}
	chunk := func(delta map[string]any, finish any) map[string]any {
		return map[string]any{"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1700000000, "model": model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}}}
	}
	if !send(chunk(map[string]any{"role": "assistant", "content": ""}, nil)) {
		return
	}
	for _, word := range strings.SplitAfter(b.Reasoning, " ") {
		if word != "" && !send(chunk(map[string]any{"reasoning_content": word}, nil)) {
			return
		}
	}
	finish := "stop"
	switch {
	case b.Refusal != "":
		for _, word := range strings.SplitAfter(b.Refusal, " ") {
			if !send(chunk(map[string]any{"refusal": word}, nil)) {
				return
			}
		}
	case b.ToolCall:
		finish = "tool_calls"
		for i, part := range []string{`{"city":`, `"Paris"}`} {
			tc := map[string]any{"index": 0, "function": map[string]any{"arguments": part}}
			if i == 0 {
				tc = map[string]any{"index": 0, "id": "call_1", "type": "function",
					"function": map[string]any{"name": "get_weather", "arguments": part}}
			}
			if !send(chunk(map[string]any{"tool_calls": []any{tc}}, nil)) {
				return
			}
		}
	default:
		for _, word := range strings.SplitAfter(text, " ") {
			if !send(chunk(map[string]any{"content": word}, nil)) {
				return
			}
		}
	}
	if !send(chunk(map[string]any{}, finish)) {
		return
	}
	if usage {
		n := len(strings.Fields(text))
		if !send(map[string]any{"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1700000000, "model": model,
			"choices": []any{}, "usage": map[string]any{"prompt_tokens": 7, "completion_tokens": n, "total_tokens": 7 + n}}) {
			return
		}
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	rc.Flush()
}

func lastUser(body map[string]any) string {
	msgs, _ := body["messages"].([]any)
	for i := len(msgs) - 1; i >= 0; i-- {
		m, _ := msgs[i].(map[string]any)
		if m["role"] != "user" {
			continue
		}
		switch c := m["content"].(type) {
		case string:
			return c
		case []any:
			var sb strings.Builder
			for _, p := range c {
				if pm, _ := p.(map[string]any); pm["type"] == "text" {
					s, _ := pm["text"].(string)
					sb.WriteString(s)
				}
			}
			return sb.String()
		}
	}
	return ""
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": "server_error", "param": nil, "code": nil}})
}
