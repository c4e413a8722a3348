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

// Anthropic is a fake Anthropic Messages upstream serving /v1/messages with
// the real wire format and SSE event sequence. Like OpenAI, its text answer
// is EchoText of the last user message, streamed word by word; with
// Behaviour.ToolCall it says "Let me check." and calls get_weather. It
// refuses, as Anthropic does, a request without x-api-key, without
// anthropic-version or without max_tokens.
type Anthropic struct {
	*httptest.Server
	mu       sync.Mutex
	seen     []Seen
	b        Behaviour
	failFrom int // for streams: send an error event after this many events (0: never)
}

// Usage the fake reports: 5 uncached input tokens and 2 read from the
// cache, so a prompt of 7 as the OpenAI fake's; one output token per word.
const (
	AnthropicInputTokens     = 5
	AnthropicCacheReadTokens = 2
)

// NewAnthropic starts a fake upstream, closed when the test ends.
func NewAnthropic(tb testing.TB) *Anthropic {
	tb.Helper()
	f := &Anthropic{}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	tb.Cleanup(f.Close)
	return f
}

// Set changes how the fake answers from now on.
func (f *Anthropic) Set(b Behaviour) {
	f.mu.Lock()
	f.b = b
	f.failFrom = 0
	f.mu.Unlock()
}

// FailAfter makes streams send Anthropic's mid-stream error event
// (overloaded_error) after n events, as an overloaded upstream does.
func (f *Anthropic) FailAfter(n int) {
	f.mu.Lock()
	f.failFrom = n
	f.mu.Unlock()
}

// Seen returns the requests received so far.
func (f *Anthropic) Seen() []Seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Seen(nil), f.seen...)
}

// BaseURL is the base URL a client is configured with (without /v1, as
// Anthropic's SDKs take it).
func (f *Anthropic) BaseURL() string { return f.Server.URL }

func (f *Anthropic) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		anthropicError(w, http.StatusBadRequest, "invalid_request_error", "There was an error parsing the body of your request")
		return
	}
	f.mu.Lock()
	f.seen = append(f.seen, Seen{Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
	b, failFrom := f.b, f.failFrom
	f.mu.Unlock()

	switch {
	case r.URL.Path != "/v1/messages":
		anthropicError(w, http.StatusNotFound, "not_found_error", "Not Found")
		return
	case r.Header.Get("X-Api-Key") == "":
		anthropicError(w, http.StatusUnauthorized, "authentication_error", "x-api-key header is required")
		return
	case r.Header.Get("Anthropic-Version") == "":
		anthropicError(w, http.StatusBadRequest, "invalid_request_error", "anthropic-version: header is required")
		return
	case body["max_tokens"] == nil:
		anthropicError(w, http.StatusBadRequest, "invalid_request_error", "max_tokens: Field required")
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
		anthropicError(w, b.Status, anthropicErrorType(b.Status), msg)
		return
	}
	model, _ := body["model"].(string)
	text := EchoText(lastUserText(body))
	if stream, _ := body["stream"].(bool); stream {
		f.stream(w, r, b, failFrom, model, text)
		return
	}
	content := []any{map[string]any{"type": "text", "text": text}}
	stop := "end_turn"
	if b.ToolCall {
		content = []any{map[string]any{"type": "text", "text": "Let me check."},
			map[string]any{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": map[string]any{"city": "Paris"}}}
		stop = "tool_use"
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": content,
		"stop_reason": stop, "stop_sequence": nil, "usage": anthropicUsage(outputTokens(text, b.ToolCall)),
	})
}

func outputTokens(text string, toolCall bool) int {
	if toolCall {
		return 12
	}
	return len(strings.Fields(text))
}

func anthropicUsage(output int) map[string]any {
	return map[string]any{"input_tokens": AnthropicInputTokens, "cache_creation_input_tokens": 0,
		"cache_read_input_tokens": AnthropicCacheReadTokens, "output_tokens": output}
}

func (f *Anthropic) stream(w http.ResponseWriter, r *http.Request, b Behaviour, failFrom int, model, text string) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	rc := http.NewResponseController(w)
	sent := 0
	send := func(v map[string]any) bool {
		if b.DieAfter > 0 && sent == b.DieAfter {
			// Cut the connection without ending the chunked body, as a
			// crashing upstream does.
			conn, _, err := rc.Hijack()
			if err == nil {
				conn.Close()
			}
			return false
		}
		if failFrom > 0 && sent == failFrom {
			fmt.Fprint(w, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n")
			rc.Flush()
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
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", v["type"], data); err != nil {
			return false
		}
		sent++
		return rc.Flush() == nil
	}
	start := anthropicUsage(1)
	if !send(map[string]any{"type": "message_start", "message": map[string]any{
		"id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": []any{},
		"stop_reason": nil, "stop_sequence": nil, "usage": start}}) {
		return
	}
	words := strings.SplitAfter(text, " ")
	stop := "end_turn"
	if b.ToolCall {
		words, stop = []string{"Let me ", "check."}, "tool_use"
	}
	if !send(map[string]any{"type": "content_block_start", "index": 0, "content_block": map[string]any{"type": "text", "text": ""}}) ||
		!send(map[string]any{"type": "ping"}) {
		return
	}
	for _, word := range words {
		if !send(map[string]any{"type": "content_block_delta", "index": 0, "delta": map[string]any{"type": "text_delta", "text": word}}) {
			return
		}
	}
	if !send(map[string]any{"type": "content_block_stop", "index": 0}) {
		return
	}
	if b.ToolCall {
		if !send(map[string]any{"type": "content_block_start", "index": 1, "content_block": map[string]any{
			"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": map[string]any{}}}) {
			return
		}
		for _, part := range []string{`{"city":`, ` "Paris"}`} {
			if !send(map[string]any{"type": "content_block_delta", "index": 1, "delta": map[string]any{"type": "input_json_delta", "partial_json": part}}) {
				return
			}
		}
		if !send(map[string]any{"type": "content_block_stop", "index": 1}) {
			return
		}
	}
	if !send(map[string]any{"type": "message_delta", "delta": map[string]any{"stop_reason": stop, "stop_sequence": nil},
		"usage": map[string]any{"output_tokens": outputTokens(text, b.ToolCall)}}) {
		return
	}
	send(map[string]any{"type": "message_stop"})
}

// lastUserText is the text of the last user message: its text blocks, or
// else the text of its tool results.
func lastUserText(body map[string]any) string {
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
			var text, results strings.Builder
			for _, p := range c {
				pm, _ := p.(map[string]any)
				switch pm["type"] {
				case "text":
					s, _ := pm["text"].(string)
					text.WriteString(s)
				case "tool_result":
					s, _ := pm["content"].(string)
					results.WriteString(s)
				}
			}
			if text.Len() > 0 {
				return text.String()
			}
			return results.String()
		}
	}
	return ""
}

func anthropicErrorType(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "invalid_request_error"
	case http.StatusUnauthorized:
		return "authentication_error"
	case http.StatusForbidden:
		return "permission_error"
	case http.StatusNotFound:
		return "not_found_error"
	case http.StatusRequestEntityTooLarge:
		return "request_too_large"
	case http.StatusTooManyRequests:
		return "rate_limit_error"
	case 529:
		return "overloaded_error"
	}
	return "api_error"
}

func anthropicError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"type": "error", "error": map[string]any{"type": typ, "message": msg}})
}
