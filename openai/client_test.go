package openai_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/openai"
	"github.com/lyumen/lyumen/providertest"
)

const (
	apiKey      = "sk-operator-test-5e2a"
	targetModel = "upstream-model-7"
)

// mustDecode returns the request a client body decodes to, with the model
// already rewritten by the router to the target's.
func mustDecode(tb testing.TB, body string) *lyumen.Request {
	tb.Helper()
	req, err := openai.DecodeChat([]byte(body))
	if err != nil {
		tb.Fatalf("DecodeChat(%s): %v", body, err)
	}
	req.Model = targetModel
	return req
}

// scripted is a fake upstream that answers every request with one fixed
// response and keeps what it received.
type scripted struct {
	*httptest.Server
	mu     sync.Mutex
	bodies [][]byte
}

func newScripted(tb testing.TB, status int, contentType, body string) *scripted {
	tb.Helper()
	s := &scripted{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.bodies = append(s.bodies, b)
		s.mu.Unlock()
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	tb.Cleanup(s.Close)
	return s
}

func (s *scripted) requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.bodies)
}

func (s *scripted) body(i int) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bodies[i]
}

func (s *scripted) client() *openai.Client {
	return openai.NewClient(s.URL+"/v1", apiKey, nil, s.Client().Transport)
}

// sseBody frames payloads as an OpenAI stream.
func sseBody(payloads ...string) string {
	var b strings.Builder
	for _, p := range payloads {
		b.WriteString("data: " + p + "\n\n")
	}
	return b.String()
}

// assembled streams req from an upstream that answers with the SSE body,
// which must end whole, and returns the answer assembled from its events.
func assembled(tb testing.TB, body string, req *lyumen.Request) *lyumen.Response {
	tb.Helper()
	return assembledBy(tb, newScripted(tb, http.StatusOK, "text/event-stream", body).client(), req)
}

// assembledBy is assembled with a client of the caller's.
func assembledBy(tb testing.TB, c *openai.Client, req *lyumen.Request) *lyumen.Response {
	tb.Helper()
	s, err := c.ChatStream(tb.Context(), req)
	if err != nil {
		tb.Fatalf("ChatStream: %v", err)
	}
	defer s.Close()
	events, err := readStream(tb, s)
	if !errors.Is(err, io.EOF) {
		tb.Fatalf("stream ended with %v, want io.EOF", err)
	}
	var a lyumen.Assembler
	for i := range events {
		a.Add(&events[i])
	}
	return a.Response()
}

// readStream reads s to its end and returns the events (Raw copied) and the
// error that ended it.
func readStream(tb testing.TB, s lyumen.Stream) ([]lyumen.Event, error) {
	tb.Helper()
	var events []lyumen.Event
	for range 1000 {
		ev, err := s.Next()
		if err != nil {
			return events, err
		}
		ev.Raw = bytes.Clone(ev.Raw)
		events = append(events, ev)
	}
	tb.Fatal("stream did not end")
	return nil, nil
}

func TestClient_Chat(t *testing.T) {
	fake := providertest.NewOpenAI(t)
	c := openai.NewClient(fake.BaseURL()+"/", apiKey, map[string]string{"HTTP-Referer": "https://lyumen.example", "x-title": "Lyumen"}, fake.Client().Transport)
	req := mustDecode(t, `{"model":"public-model","temperature":0.25,"user":"u-1","messages":[{"role":"user","content":"hi there"}]}`)

	got, err := c.Chat(t.Context(), req)
	if err != nil {
		t.Fatalf("Chat: %v", err)
	}
	want := &lyumen.Response{
		ID:      "chatcmpl-fake",
		Model:   targetModel,
		Choices: []lyumen.Choice{{Message: lyumen.Message{Role: "assistant", Content: providertest.EchoText("hi there")}, FinishReason: "stop"}},
		Usage:   &lyumen.Usage{PromptTokens: 7, CompletionTokens: 3, TotalTokens: 10},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(lyumen.Response{}, "Raw")); diff != "" {
		t.Errorf("Chat mismatch (-want +got):\n%s", diff)
	}
	var raw map[string]any
	if err := json.Unmarshal(got.Raw, &raw); err != nil || raw["object"] != "chat.completion" || raw["id"] != "chatcmpl-fake" {
		t.Errorf("Raw = %s (%v), want the upstream's chat.completion body", got.Raw, err)
	}

	seen := fake.Seen()
	if len(seen) != 1 {
		t.Fatalf("upstream saw %d requests, want 1", len(seen))
	}
	s := seen[0]
	if s.Path != "/v1/chat/completions" {
		t.Errorf("path = %q, want /v1/chat/completions", s.Path)
	}
	wantHeaders := map[string]string{
		"Authorization": "Bearer " + apiKey,
		"Http-Referer":  "https://lyumen.example",
		"X-Title":       "Lyumen",
		"Content-Type":  "application/json",
		"Accept":        "application/json",
	}
	for k, v := range wantHeaders {
		if got := s.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	wantBody := map[string]any{
		"model": targetModel, "temperature": 0.25, "user": "u-1",
		"messages": []any{map[string]any{"role": "user", "content": "hi there"}},
	}
	if diff := cmp.Diff(wantBody, s.Body); diff != "" {
		t.Errorf("upstream body mismatch (-want +got):\n%s", diff)
	}
	if req.Model != targetModel {
		t.Errorf("Chat changed req.Model to %q", req.Model)
	}
}

func TestClient_ChatToolCall(t *testing.T) {
	fake := providertest.NewOpenAI(t)
	fake.Set(providertest.Behaviour{ToolCall: true})
	c := openai.NewClient(fake.BaseURL(), apiKey, nil, fake.Client().Transport)
	got, err := c.Chat(t.Context(), mustDecode(t, `{"model":"m","messages":[{"role":"user","content":"weather?"}]}`))
	if err != nil {
		t.Fatalf("Chat: %v", err)
	}
	want := []lyumen.Choice{{
		Message: lyumen.Message{Role: "assistant", ToolCalls: []lyumen.ToolCall{
			{Index: 0, ID: "call_1", Type: "function", Name: "get_weather", Arguments: `{"city":"Paris"}`},
		}},
		FinishReason: "tool_calls",
	}}
	if diff := cmp.Diff(want, got.Choices); diff != "" {
		t.Errorf("choices mismatch (-want +got):\n%s", diff)
	}
}

func TestClient_Headers(t *testing.T) {
	tests := []struct {
		name     string
		apiKey   string
		stream   bool
		wantAuth string
	}{
		{name: "key", apiKey: apiKey, wantAuth: "Bearer " + apiKey},
		{name: "key stream", apiKey: apiKey, stream: true, wantAuth: "Bearer " + apiKey},
		{name: "no key", apiKey: ""},
		{name: "no key stream", apiKey: "", stream: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := providertest.NewOpenAI(t)
			c := openai.NewClient(fake.BaseURL(), tc.apiKey, map[string]string{"X-Extra": "1"}, fake.Client().Transport)
			if tc.stream {
				s, err := c.ChatStream(t.Context(), mustDecode(t, `{"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]}`))
				if err != nil {
					t.Fatalf("ChatStream: %v", err)
				}
				if _, err := readStream(t, s); !errors.Is(err, io.EOF) {
					t.Errorf("stream ended with %v, want io.EOF", err)
				}
				s.Close()
			} else if _, err := c.Chat(t.Context(), mustDecode(t, `{"model":"m","messages":[{"role":"user","content":"x"}]}`)); err != nil {
				t.Fatalf("Chat: %v", err)
			}
			h := fake.Seen()[0].Header
			if _, present := h["Authorization"]; present != (tc.wantAuth != "") || h.Get("Authorization") != tc.wantAuth {
				t.Errorf("Authorization = %q (present %v), want %q", h.Get("Authorization"), present, tc.wantAuth)
			}
			if got := h.Get("X-Extra"); got != "1" {
				t.Errorf("X-Extra = %q, want 1", got)
			}
			wantAccept := "application/json"
			if tc.stream {
				wantAccept = "text/event-stream"
			}
			if got := h.Get("Accept"); got != wantAccept {
				t.Errorf("Accept = %q, want %q", got, wantAccept)
			}
		})
	}
}

func TestClient_StreamOptions(t *testing.T) {
	tests := []struct {
		name string
		body string
		want any // stream_options as the upstream received it; nil when absent
	}{
		{
			name: "stream without options asks for usage",
			body: `{"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]}`,
			want: map[string]any{"include_usage": true},
		},
		{
			name: "include_usage false becomes true, other options kept",
			body: `{"model":"m","stream":true,"stream_options":{"include_usage":false,"include_obfuscation":false},"messages":[{"role":"user","content":"x"}]}`,
			want: map[string]any{"include_usage": true, "include_obfuscation": false},
		},
		{
			name: "null options",
			body: `{"model":"m","stream":true,"stream_options":null,"messages":[{"role":"user","content":"x"}]}`,
			want: map[string]any{"include_usage": true},
		},
		{
			name: "client asked for usage: left as sent",
			body: `{"model":"m","stream":true,"stream_options":{"include_usage":true,"include_obfuscation":true},"messages":[{"role":"user","content":"x"}]}`,
			want: map[string]any{"include_usage": true, "include_obfuscation": true},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := providertest.NewOpenAI(t)
			c := openai.NewClient(fake.BaseURL(), apiKey, nil, fake.Client().Transport)
			s, err := c.ChatStream(t.Context(), mustDecode(t, tc.body))
			if err != nil {
				t.Fatalf("ChatStream: %v", err)
			}
			defer s.Close()
			events, err := readStream(t, s)
			if !errors.Is(err, io.EOF) {
				t.Fatalf("stream ended with %v, want io.EOF", err)
			}
			if last := events[len(events)-1]; last.Usage == nil {
				t.Error("no usage event at the end of the stream")
			}
			body := fake.Seen()[0].Body
			if diff := cmp.Diff(tc.want, body["stream_options"]); diff != "" {
				t.Errorf("stream_options mismatch (-want +got):\n%s", diff)
			}
			if body["model"] != targetModel || body["stream"] != true {
				t.Errorf("model, stream = %v, %v; want %q, true", body["model"], body["stream"], targetModel)
			}
		})
	}
}

func TestClient_ChatLeavesStreamOptionsAlone(t *testing.T) {
	fake := providertest.NewOpenAI(t)
	c := openai.NewClient(fake.BaseURL(), apiKey, nil, fake.Client().Transport)
	if _, err := c.Chat(t.Context(), mustDecode(t, `{"model":"m","messages":[{"role":"user","content":"x"}]}`)); err != nil {
		t.Fatalf("Chat: %v", err)
	}
	if opts, ok := fake.Seen()[0].Body["stream_options"]; ok {
		t.Errorf("non-streamed request got stream_options %v", opts)
	}
}

func TestClient_ChatStream(t *testing.T) {
	fake := providertest.NewOpenAI(t)
	c := openai.NewClient(fake.BaseURL(), apiKey, nil, fake.Client().Transport)
	s, err := c.ChatStream(t.Context(), mustDecode(t, `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi there"}]}`))
	if err != nil {
		t.Fatalf("ChatStream: %v", err)
	}
	defer s.Close()
	events, err := readStream(t, s)
	if !errors.Is(err, io.EOF) {
		t.Fatalf("stream ended with %v, want io.EOF", err)
	}
	ev := func(d ...lyumen.ChoiceDelta) lyumen.Event {
		return lyumen.Event{ID: "chatcmpl-fake", Model: targetModel, Choices: d}
	}
	want := []lyumen.Event{
		ev(lyumen.ChoiceDelta{Role: "assistant"}),
		ev(lyumen.ChoiceDelta{Content: "Echo: "}),
		ev(lyumen.ChoiceDelta{Content: "hi "}),
		ev(lyumen.ChoiceDelta{Content: "there"}),
		ev(lyumen.ChoiceDelta{FinishReason: "stop"}),
		{ID: "chatcmpl-fake", Model: targetModel, Usage: &lyumen.Usage{PromptTokens: 7, CompletionTokens: 3, TotalTokens: 10}},
	}
	if diff := cmp.Diff(want, events, cmpopts.IgnoreFields(lyumen.Event{}, "Raw")); diff != "" {
		t.Errorf("events mismatch (-want +got):\n%s", diff)
	}
	for i, e := range events {
		var chunk map[string]any
		if err := json.Unmarshal(e.Raw, &chunk); err != nil || chunk["object"] != "chat.completion.chunk" {
			t.Errorf("event %d Raw = %s, want the upstream's chunk", i, e.Raw)
		}
	}
	if _, err := s.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("Next after the end = %v, want io.EOF", err)
	}
}

func TestClient_ChatStreamToolCalls(t *testing.T) {
	chunks := []string{
		`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m-1","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}`,
		`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m-1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}]}`,
		`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m-1","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"get_time","arguments":"{}"}}]},"finish_reason":null}]}`,
		`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m-1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]},"finish_reason":null}]}`,
		`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m-1","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`,
		`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m-1","choices":[],"usage":{"prompt_tokens":11,"completion_tokens":22,"total_tokens":33}}`,
	}
	up := newScripted(t, http.StatusOK, "text/event-stream", ": keep-alive\n\n"+sseBody(append(chunks, "[DONE]")...))
	s, err := up.client().ChatStream(t.Context(), mustDecode(t, `{"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]}`))
	if err != nil {
		t.Fatalf("ChatStream: %v", err)
	}
	defer s.Close()
	events, err := readStream(t, s)
	if !errors.Is(err, io.EOF) {
		t.Fatalf("stream ended with %v, want io.EOF", err)
	}
	ev := func(raw string, d ...lyumen.ChoiceDelta) lyumen.Event {
		return lyumen.Event{ID: "c1", Model: "m-1", Choices: d, Raw: []byte(raw)}
	}
	want := []lyumen.Event{
		ev(chunks[0], lyumen.ChoiceDelta{Role: "assistant", ToolCalls: []lyumen.ToolCall{{Index: 0, ID: "call_a", Type: "function", Name: "get_weather"}}}),
		ev(chunks[1], lyumen.ChoiceDelta{ToolCalls: []lyumen.ToolCall{{Index: 0, Arguments: `{"city":`}}}),
		ev(chunks[2], lyumen.ChoiceDelta{ToolCalls: []lyumen.ToolCall{{Index: 1, ID: "call_b", Type: "function", Name: "get_time", Arguments: "{}"}}}),
		ev(chunks[3], lyumen.ChoiceDelta{ToolCalls: []lyumen.ToolCall{{Index: 0, Arguments: `"Paris"}`}}}),
		ev(chunks[4], lyumen.ChoiceDelta{FinishReason: "tool_calls"}),
		{ID: "c1", Model: "m-1", Usage: &lyumen.Usage{PromptTokens: 11, CompletionTokens: 22, TotalTokens: 33}, Raw: []byte(chunks[5])},
	}
	if diff := cmp.Diff(want, events); diff != "" {
		t.Errorf("events mismatch (-want +got):\n%s", diff)
	}

	var a lyumen.Assembler
	for i := range events {
		a.Add(&events[i])
	}
	wantCalls := []lyumen.ToolCall{
		{Index: 0, ID: "call_a", Type: "function", Name: "get_weather", Arguments: `{"city":"Paris"}`},
		{Index: 1, ID: "call_b", Type: "function", Name: "get_time", Arguments: "{}"},
	}
	if diff := cmp.Diff(wantCalls, a.Response().Choices[0].Message.ToolCalls); diff != "" {
		t.Errorf("assembled tool calls mismatch (-want +got):\n%s", diff)
	}
}

// TestClient_ChatStreamToolCallNumbers: however an upstream numbers its
// tool call fragments, the stream numbers calls as OpenAI does, so that two
// calls are not assembled into one.
func TestClient_ChatStreamToolCallNumbers(t *testing.T) {
	chunk := func(calls string) string {
		return `{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":` + calls + `},"finish_reason":null}]}`
	}
	const finish = `{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`
	want := []lyumen.ToolCall{
		{Index: 0, ID: "call_a", Type: "function", Name: "get_weather", Arguments: `{"city":"Paris"}`},
		{Index: 1, ID: "call_b", Type: "function", Name: "get_time", Arguments: `{"tz":"CET"}`},
	}
	for _, tc := range []struct {
		name   string
		chunks []string
	}{
		{"by index, interleaved (OpenAI)", []string{
			chunk(`[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":"{\"city\":"}}]`),
			chunk(`[{"index":1,"id":"call_b","type":"function","function":{"name":"get_time","arguments":"{\"tz\":\"CET\"}"}}]`),
			chunk(`[{"index":0,"function":{"arguments":"\"Paris\"}"}}]`),
		}},
		{"no index, fragments (Mistral)", []string{
			chunk(`[{"id":"call_a","type":"function","function":{"name":"get_weather","arguments":"{\"city\":"}}]`),
			chunk(`[{"function":{"arguments":"\"Paris\"}"}}]`),
			chunk(`[{"id":"call_b","type":"function","function":{"name":"get_time","arguments":"{\"tz\":"}}]`),
			chunk(`[{"index":null,"function":{"arguments":"\"CET\"}"}}]`),
		}},
		{"no index, two in one chunk", []string{
			chunk(`[{"id":"call_a","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},{"id":"call_b","type":"function","function":{"name":"get_time","arguments":"{\"tz\":\"CET\"}"}}]`),
		}},
		{"no index, no id, two in one chunk", []string{
			chunk(`[{"type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},{"type":"function","function":{"name":"get_time","arguments":"{\"tz\":\"CET\"}"}}]`),
		}},
		{"each call index 0 (Ollama)", []string{
			chunk(`[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]`),
			chunk(`[{"index":0,"id":"call_b","type":"function","function":{"name":"get_time","arguments":"{\"tz\":\"CET\"}"}}]`),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := assembled(t, sseBody(append(tc.chunks, finish, "[DONE]")...),
				mustDecode(t, `{"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]}`))
			calls := resp.Choices[0].Message.ToolCalls
			if tc.name == "no index, no id, two in one chunk" { // ids are the upstream's to give
				for i := range calls {
					calls[i].ID = want[i].ID
				}
			}
			if diff := cmp.Diff(want, calls); diff != "" {
				t.Errorf("assembled tool calls mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestClient_ChatStreamEndsWithoutDone: a stream that ends without [DONE]
// is whole when each of its choices has finished (llama.cpp before late
// 2024 sent none), and cut off otherwise.
func TestClient_ChatStreamEndsWithoutDone(t *testing.T) {
	chunk := func(index int, delta, finish string) string {
		return fmt.Sprintf(`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":%d,"delta":%s,"finish_reason":%s}]}`, index, delta, finish)
	}
	for _, tc := range []struct {
		name  string
		body  string
		whole bool
	}{
		{"finished", sseBody(chunk(0, `{"content":"Hi"}`, "null"), chunk(0, `{}`, `"stop"`)), false}, // one of the two asked for
		{"both finished", sseBody(chunk(0, `{"content":"Hi"}`, `"stop"`), chunk(1, `{"content":"Ho"}`, `"length"`)), true},
		{"finished, usage after", sseBody(chunk(0, `{"content":"Hi"}`, `"stop"`), chunk(1, `{}`, `"stop"`), `{"id":"c1","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`), true},
		{"[DONE] without its blank line", sseBody(chunk(0, `{"content":"Hi"}`, `"stop"`), chunk(1, `{}`, `"stop"`)) + "data: [DONE]", true},
		{"unfinished", sseBody(chunk(0, `{"content":"Hi"}`, "null")), false},
		{"one of two choices finished", sseBody(chunk(0, `{"content":"Hi"}`, `"stop"`), chunk(1, `{"content":"Ho"}`, "null")), false},
		{"no choice", sseBody(`{"id":"c1","choices":[]}`), false},
		{"one asked for, finished", sseBody(chunk(0, `{"content":"Hi"}`, `"stop"`)), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := newScripted(t, http.StatusOK, "text/event-stream", tc.body)
			n := `,"n":2`
			if strings.HasPrefix(tc.name, "one asked for") {
				n = ""
			}
			s, err := up.client().ChatStream(t.Context(), mustDecode(t, `{"model":"m","stream":true`+n+`,"messages":[{"role":"user","content":"x"}]}`))
			if err != nil {
				t.Fatalf("ChatStream: %v", err)
			}
			defer s.Close()
			_, err = readStream(t, s)
			if whole := errors.Is(err, io.EOF); whole != tc.whole {
				t.Errorf("stream ended with %v, want whole %v", err, tc.whole)
			}
		})
	}
}

// TestClient_ChatErrorInA200: OpenRouter answers 200 before the model runs
// and reports a failure in the body; it is an upstream error, which the
// router may take elsewhere, not an empty answer.
func TestClient_ChatErrorInA200(t *testing.T) {
	const head = `{"id":"gen-1","object":"chat.completion","created":1,"model":"m","choices":[`
	for _, tc := range []struct {
		name string
		body string
		want *lyumen.Error // nil: an answer
	}{
		{"the body an error", `{"error":{"message":"Provider returned error","code":429,"metadata":{"provider_name":"Foo"}},"user_id":"u"}`,
			&lyumen.Error{Kind: lyumen.KindUpstream, Status: 429, Message: "upstream: Provider returned error"}},
		{"the choice ended in an error", head + `{"index":0,"message":{"role":"assistant","content":""},"finish_reason":"error","error":{"code":502,"message":"Provider disconnected"}}]}`,
			&lyumen.Error{Kind: lyumen.KindUpstream, Status: 502, Message: "upstream: Provider disconnected"}},
		{"the choice ended in an error, unsaid", head + `{"index":0,"message":{"role":"assistant","content":""},"finish_reason":"error"}]}`,
			&lyumen.Error{Kind: lyumen.KindUpstream, Status: 502, Message: "upstream: the answer ended in an error"}},
		{"one choice of two", head + `{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"},{"index":1,"message":{"role":"assistant","content":""},"finish_reason":"error"}]}`, nil},
		{"an error set to null", head + `{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop","error":null}],"error":null}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := newScripted(t, http.StatusOK, "application/json", tc.body)
			resp, err := up.client().Chat(t.Context(), mustDecode(t, `{"model":"m","messages":[{"role":"user","content":"x"}]}`))
			if tc.want == nil {
				if err != nil || len(resp.Choices) == 0 {
					t.Fatalf("Chat = %+v, %v; want an answer", resp, err)
				}
				return
			}
			e, ok := errors.AsType[*lyumen.Error](err)
			if !ok {
				t.Fatalf("Chat = %+v, %v; want *lyumen.Error", resp, err)
			}
			if diff := cmp.Diff(*tc.want, *e, cmpopts.IgnoreFields(lyumen.Error{}, "Err")); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestClient_ChatNumbersAsFloats: token counts written 12.0, or a
// fractional created, are read; they failed a good answer, which the
// router then asked for again elsewhere.
func TestClient_ChatNumbersAsFloats(t *testing.T) {
	up := newScripted(t, http.StatusOK, "application/json",
		`{"id":"c","object":"chat.completion","created":1712345678.123,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12.0,"completion_tokens":2.0,"total_tokens":14.0}}`)
	resp, err := up.client().Chat(t.Context(), mustDecode(t, `{"model":"m","messages":[{"role":"user","content":"x"}]}`))
	if err != nil {
		t.Fatalf("Chat: %v", err)
	}
	if want := (lyumen.Usage{PromptTokens: 12, CompletionTokens: 2, TotalTokens: 14}); resp.Usage == nil || *resp.Usage != want {
		t.Errorf("usage %+v, want %+v", resp.Usage, want)
	}
	if resp.Choices[0].Message.Content != "Hi" {
		t.Errorf("content %q, want Hi", resp.Choices[0].Message.Content)
	}
}

// TestClient_ReasoningAndRefusal: the reasoning a server sends beside the
// answer (DeepSeek's and vLLM's reasoning_content, OpenRouter's reasoning)
// and a refusal are part of what the client receives, and are recorded,
// streamed or not.
func TestClient_ReasoningAndRefusal(t *testing.T) {
	chunk := func(delta string) string {
		return `{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":` + delta + `,"finish_reason":null}]}`
	}
	const finish = `{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`
	whole := func(message string) string {
		return `{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":` + message + `,"finish_reason":"stop"}]}`
	}
	for _, tc := range []struct {
		name   string
		stream bool
		body   string
		want   lyumen.Message
	}{
		{"streamed reasoning_content", true, sseBody(
			chunk(`{"role":"assistant","content":"","reasoning_content":null}`),
			chunk(`{"content":null,"reasoning_content":"Two and "}`),
			chunk(`{"content":null,"reasoning_content":"two: \"four\"."}`),
			chunk(`{"content":"4","reasoning_content":null}`), finish, "[DONE]"),
			lyumen.Message{Role: "assistant", Content: "4", Reasoning: `Two and two: "four".`}},
		{"streamed reasoning, both fields", true, sseBody(
			chunk(`{"role":"assistant","content":"","reasoning":"Hm","reasoning_content":"Hm"}`),
			chunk(`{"content":"4"}`), finish, "[DONE]"),
			lyumen.Message{Role: "assistant", Content: "4", Reasoning: "Hm"}},
		{"streamed refusal", true, sseBody(
			chunk(`{"role":"assistant","content":null,"refusal":""}`),
			chunk(`{"refusal":"I can't help with that."}`), finish, "[DONE]"),
			lyumen.Message{Role: "assistant", Refusal: "I can't help with that."}},
		{"whole reasoning_content", false, whole(`{"role":"assistant","content":"4","reasoning_content":"Two and two."}`),
			lyumen.Message{Role: "assistant", Content: "4", Reasoning: "Two and two."}},
		{"whole reasoning", false, whole(`{"role":"assistant","content":"4","reasoning":"Two and two.","reasoning_details":[{"type":"reasoning.text"}]}`),
			lyumen.Message{Role: "assistant", Content: "4", Reasoning: "Two and two."}},
		{"whole reasoning, not a string", false, whole(`{"role":"assistant","content":"4","reasoning":{"effort":"low"}}`),
			lyumen.Message{Role: "assistant", Content: "4"}},
		{"whole refusal", false, whole(`{"role":"assistant","content":null,"refusal":"I can't help with that."}`),
			lyumen.Message{Role: "assistant", Refusal: "I can't help with that."}},
		{"whole nulls", false, whole(`{"role":"assistant","content":"4","refusal":null,"reasoning":null,"reasoning_content":null}`),
			lyumen.Message{Role: "assistant", Content: "4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := mustDecode(t, `{"model":"m","stream":`+strconv.FormatBool(tc.stream)+`,"messages":[{"role":"user","content":"x"}]}`)
			var got *lyumen.Response
			if tc.stream {
				got = assembled(t, tc.body, req)
			} else {
				up := newScripted(t, http.StatusOK, "application/json", tc.body)
				var err error
				if got, err = up.client().Chat(t.Context(), req); err != nil {
					t.Fatalf("Chat: %v", err)
				}
			}
			if diff := cmp.Diff(tc.want, got.Choices[0].Message); diff != "" {
				t.Errorf("message mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClient_ChatStreamErrors(t *testing.T) {
	const first = `{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]}`
	tests := []struct {
		name string
		body string
		want lyumen.Error // Kind, Status and Message; Err is not compared
	}{
		{
			name: "ends without DONE",
			body: sseBody(first),
			want: lyumen.Error{Kind: lyumen.KindUpstream, Message: "the upstream stream ended early"},
		},
		{
			name: "ends inside an event",
			body: sseBody(first) + `data: {"id":"c1","choi`,
			want: lyumen.Error{Kind: lyumen.KindUpstream, Message: "the upstream stream ended early"},
		},
		{
			name: "error event",
			body: sseBody(first, `{"error":{"message":"The server had an error while processing your request.","type":"server_error","code":null}}`),
			want: lyumen.Error{Kind: lyumen.KindUpstream, Status: http.StatusBadGateway, Message: "upstream: The server had an error while processing your request."},
		},
		{
			name: "error event as a string",
			body: sseBody(first, `{"error":"model overloaded"}`),
			want: lyumen.Error{Kind: lyumen.KindUpstream, Status: http.StatusBadGateway, Message: "upstream: model overloaded"},
		},
		{
			name: "flat error object",
			body: sseBody(first, `{"object":"error","message":"CUDA out of memory","type":"InternalServerError","param":null,"code":500}`, "[DONE]"),
			want: lyumen.Error{Kind: lyumen.KindUpstream, Status: http.StatusBadGateway, Message: "upstream: CUDA out of memory"},
		},
		{
			name: "invalid JSON event",
			body: sseBody(first, `{"id":"c1",`, "[DONE]"),
			want: lyumen.Error{Kind: lyumen.KindUpstream, Message: "upstream sent an invalid event"},
		},
		{
			name: "event of the wrong shape",
			body: sseBody(first, `{"choices":{"index":0}}`, "[DONE]"),
			want: lyumen.Error{Kind: lyumen.KindUpstream, Message: "upstream sent an invalid event"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			up := newScripted(t, http.StatusOK, "text/event-stream", tc.body)
			s, err := up.client().ChatStream(t.Context(), mustDecode(t, `{"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]}`))
			if err != nil {
				t.Fatalf("ChatStream: %v", err)
			}
			defer s.Close()
			events, err := readStream(t, s)
			if len(events) != 1 || events[0].Choices[0].Content != "Hi" {
				t.Errorf("events before the failure = %+v, want the first chunk", events)
			}
			e, ok := errors.AsType[*lyumen.Error](err)
			if !ok {
				t.Fatalf("stream ended with %T %v, want *lyumen.Error", err, err)
			}
			if diff := cmp.Diff(tc.want, *e, cmpopts.IgnoreFields(lyumen.Error{}, "Err")); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestClient_ChatStreamNullFields: a field set to null is a field left out.
// Servers built on pydantic models (LiteLLM, for one) send every optional
// field, as null when unset, in every chunk.
func TestClient_ChatStreamNullFields(t *testing.T) {
	tests := []struct {
		name  string
		chunk string
		want  lyumen.Event
	}{
		{
			name:  "error",
			chunk: `{"id":"c1","model":"m","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}],"error":null}`,
			want:  lyumen.Event{ID: "c1", Model: "m", Choices: []lyumen.ChoiceDelta{{Content: "Hi"}}},
		},
		{
			name:  "delta fields",
			chunk: `{"id":"c1","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi","tool_calls":null,"function_call":null,"refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}`,
			want:  lyumen.Event{ID: "c1", Model: "m", Choices: []lyumen.ChoiceDelta{{Role: "assistant", Content: "Hi"}}},
		},
		{
			name:  "content",
			chunk: `{"id":"c1","model":"m","choices":[{"index":0,"delta":{"content":null},"finish_reason":"stop"}]}`,
			want:  lyumen.Event{ID: "c1", Model: "m", Choices: []lyumen.ChoiceDelta{{FinishReason: "stop"}}},
		},
		{
			name:  "delta",
			chunk: `{"id":"c1","model":"m","choices":[{"index":0,"delta":null,"finish_reason":"stop"}]}`,
			want:  lyumen.Event{ID: "c1", Model: "m", Choices: []lyumen.ChoiceDelta{{FinishReason: "stop"}}},
		},
		{
			name:  "choices",
			chunk: `{"id":"c1","model":"m","choices":null,"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}`,
			want:  lyumen.Event{ID: "c1", Model: "m", Usage: &lyumen.Usage{PromptTokens: 1, CompletionTokens: 2, TotalTokens: 3}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			up := newScripted(t, http.StatusOK, "text/event-stream", sseBody(tc.chunk, "[DONE]"))
			s, err := up.client().ChatStream(t.Context(), mustDecode(t, `{"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]}`))
			if err != nil {
				t.Fatalf("ChatStream: %v", err)
			}
			defer s.Close()
			events, err := readStream(t, s)
			if !errors.Is(err, io.EOF) {
				t.Fatalf("stream ended with %v, want io.EOF", err)
			}
			if diff := cmp.Diff([]lyumen.Event{tc.want}, events, cmpopts.IgnoreFields(lyumen.Event{}, "Raw")); diff != "" {
				t.Errorf("events mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// topLevel returns every value the JSON object body holds under key, in
// order: with duplicate keys, upstreams differ on which one they use.
func topLevel(tb testing.TB, body []byte, key string) []json.RawMessage {
	tb.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		tb.Fatalf("upstream body is not an object: %s", body)
	}
	var out []json.RawMessage
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			tb.Fatal(err)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			tb.Fatal(err)
		}
		if k == key {
			out = append(out, v)
		}
	}
	return out
}

// TestClient_DuplicateKeys: whichever of two equal keys an upstream reads,
// it must see the target model and a request for usage. Refusing such a
// body in DecodeChat is fine too.
func TestClient_DuplicateKeys(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{
			name: "model",
			body: `{"model":"other","model":"public","messages":[{"role":"user","content":"x"}],"stream":true}`,
		},
		{
			name: "stream_options",
			body: `{"model":"public","stream":true,"stream_options":{"include_usage":false},"stream_options":{"include_usage":false},"messages":[{"role":"user","content":"x"}]}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := openai.DecodeChat([]byte(tc.body))
			if err != nil {
				if lyumen.KindOf(err) != lyumen.KindInvalid {
					t.Fatalf("DecodeChat error %v, want KindInvalid", err)
				}
				return // refused: fine
			}
			req.Model = targetModel
			up := newScripted(t, http.StatusOK, "text/event-stream", sseBody("[DONE]"))
			s, err := up.client().ChatStream(t.Context(), req)
			if err != nil {
				t.Fatalf("ChatStream: %v", err)
			}
			s.Close()
			sent := up.body(0)
			for _, m := range topLevel(t, sent, "model") {
				if string(m) != `"`+targetModel+`"` {
					t.Errorf("upstream body has model %s besides the target: %s", m, sent)
				}
			}
			for _, o := range topLevel(t, sent, "stream_options") {
				var opts struct {
					IncludeUsage bool `json:"include_usage"`
				}
				if err := json.Unmarshal(o, &opts); err != nil || !opts.IncludeUsage {
					t.Errorf("upstream body has stream_options %s without include_usage: %s", o, sent)
				}
			}
		})
	}
}

func TestClient_StreamCutOff(t *testing.T) {
	fake := providertest.NewOpenAI(t)
	fake.Set(providertest.Behaviour{DieAfter: 2})
	c := openai.NewClient(fake.BaseURL(), apiKey, nil, fake.Client().Transport)
	s, err := c.ChatStream(t.Context(), mustDecode(t, `{"model":"m","stream":true,"messages":[{"role":"user","content":"a b c d"}]}`))
	if err != nil {
		t.Fatalf("ChatStream: %v", err)
	}
	defer s.Close()
	events, err := readStream(t, s)
	if len(events) != 2 {
		t.Errorf("got %d events before the cut, want 2", len(events))
	}
	if lyumen.KindOf(err) != lyumen.KindUpstream {
		t.Errorf("stream ended with %v, want a KindUpstream error", err)
	}
}

func TestClient_UpstreamError(t *testing.T) {
	long := strings.Repeat("x", 1000)
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		want        lyumen.Error
	}{
		{
			name: "OpenAI envelope", status: 400, contentType: "application/json",
			body: `{"error":{"message":"Invalid value for 'temperature'.","type":"invalid_request_error","param":"temperature","code":null}}`,
			want: lyumen.Error{Kind: lyumen.KindUpstream, Status: 400, Message: "upstream: Invalid value for 'temperature'.", Param: "temperature"},
		},
		{
			// Clients trim the conversation on this code.
			name: "context too long", status: 400, contentType: "application/json",
			body: `{"error":{"message":"This model's maximum context length is 128000 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}`,
			want: lyumen.Error{Kind: lyumen.KindUpstream, Status: 400, Message: "upstream: This model's maximum context length is 128000 tokens.",
				Param: "messages", Code: "context_length_exceeded"},
		},
		{
			// An upstream may quote the client's value in a param (a tool's
			// name): cut as the gateway's own messages quote one.
			name: "a long code and param are cut", status: 400, contentType: "application/json",
			body: `{"error":{"message":"Bad field","param":"` + long + `","code":"` + long + `"}}`,
			want: lyumen.Error{Kind: lyumen.KindUpstream, Status: 400, Message: "upstream: Bad field",
				Param: strings.Repeat("x", lyumen.MaxQuoted) + "…", Code: strings.Repeat("x", lyumen.MaxQuoted) + "…"},
		},
		{
			name: "a number for a code", status: 400, contentType: "application/json",
			body: `{"error":{"message":"Bad request","code":400}}`,
			want: lyumen.Error{Kind: lyumen.KindUpstream, Status: 400, Message: "upstream: Bad request"},
		},
		{
			// The operator's quota, not the client's: the gateway's code stands.
			name: "quota", status: 429, contentType: "application/json",
			body: `{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`,
			want: lyumen.Error{Kind: lyumen.KindUpstream, Status: 429, Message: "upstream: You exceeded your current quota"},
		},
		{
			name: "server error", status: 500, contentType: "application/json",
			body: `{"error":{"message":"The server had an error","type":"server_error","code":"server_error"}}`, // the gateway's own code stands
			want: lyumen.Error{Kind: lyumen.KindUpstream, Status: 500, Message: "upstream: The server had an error"},
		},
		{
			name: "error as a string", status: 503, contentType: "application/json",
			body: `{"error":"model is loading"}`,
			want: lyumen.Error{Kind: lyumen.KindUpstream, Status: 503, Message: "upstream: model is loading"},
		},
		{
			name: "HTML body", status: 502, contentType: "text/html",
			body: `<html><body><h1>502 Bad Gateway</h1></body></html>`,
			want: lyumen.Error{Kind: lyumen.KindUpstream, Status: 502, Message: "upstream: Bad Gateway"},
		},
		{
			name: "plain text body", status: 401, contentType: "text/plain",
			body: "unauthorized\n",
			want: lyumen.Error{Kind: lyumen.KindUpstream, Status: 401, Message: "upstream: the upstream refused the gateway's credentials"},
		},
		{
			name: "empty body", status: 404, contentType: "application/json",
			want: lyumen.Error{Kind: lyumen.KindUpstream, Status: 404, Message: "upstream: Not Found"},
		},
		{
			name: "empty message", status: 500, contentType: "application/json",
			body: `{"error":{"message":""}}`,
			want: lyumen.Error{Kind: lyumen.KindUpstream, Status: 500, Message: "upstream: Internal Server Error"},
		},
		{
			name: "no content is not a completion", status: 204, contentType: "application/json",
			want: lyumen.Error{Kind: lyumen.KindUpstream, Status: 204, Message: "upstream: No Content"},
		},
	}
	for _, tc := range tests {
		for _, stream := range []bool{false, true} {
			name := tc.name
			if stream {
				name += " stream"
			}
			t.Run(name, func(t *testing.T) {
				up := newScripted(t, tc.status, tc.contentType, tc.body)
				var err error
				if stream {
					var s lyumen.Stream
					s, err = up.client().ChatStream(t.Context(), mustDecode(t, `{"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]}`))
					if s != nil {
						s.Close()
						t.Fatal("ChatStream returned a stream for a refused request")
					}
				} else {
					_, err = up.client().Chat(t.Context(), mustDecode(t, `{"model":"m","messages":[{"role":"user","content":"x"}]}`))
				}
				e, ok := errors.AsType[*lyumen.Error](err)
				if !ok {
					t.Fatalf("error %T %v, want *lyumen.Error", err, err)
				}
				if diff := cmp.Diff(tc.want, *e, cmpopts.IgnoreFields(lyumen.Error{}, "Err")); diff != "" {
					t.Errorf("error mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestClient_RetryAfter(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"error":{"message":"Rate limit reached"}}`)
	}))
	t.Cleanup(srv.Close)
	c := openai.NewClient(srv.URL, apiKey, nil, srv.Client().Transport)
	_, err := c.Chat(t.Context(), mustDecode(t, `{"model":"m","messages":[{"role":"user","content":"x"}]}`))
	e, ok := errors.AsType[*lyumen.Error](err)
	if !ok || e.Kind != lyumen.KindUpstream || e.Status != 429 || e.RetryAfter != 7*time.Second {
		t.Errorf("error = %#v, want KindUpstream 429 with RetryAfter 7s", err)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		header string
		want   time.Duration
	}{
		{"", 0}, {"7", 7 * time.Second}, {"0", 0}, {"-3", 0}, {"soon", 0},
		{"Thu, 26 Nov 2026 12:00:30 GMT", 30 * time.Second},
		{"Thu, 26 Nov 2026 11:00:00 GMT", 0},
		// Past time.Duration's range in nanoseconds, or an int64's: a day,
		// not a wrapped-round or negative wait.
		{"9300000000", 24 * time.Hour}, {"18446744074", 24 * time.Hour}, {"99999999999999999999999", 24 * time.Hour},
		{"-99999999999999999999999", 0},
		// A date as far: a day too (one past 2262 saturated time.Sub, and a
		// client was sent a negative Retry-After).
		{"Thu, 26 Nov 2027 12:00:00 GMT", 24 * time.Hour}, {"Fri, 31 Dec 9999 23:59:59 GMT", 24 * time.Hour},
	}
	for _, tc := range tests {
		if got := lyumen.ParseRetryAfter(tc.header, now); got != tc.want {
			t.Errorf("RetryAfter(%q) = %v, want %v", tc.header, got, tc.want)
		}
	}
}

func TestClient_CappedMaxTokens(t *testing.T) {
	for _, tc := range []struct{ body, field string }{
		{`{"model":"m","messages":[{"role":"user","content":"x"}]}`, "max_tokens"},
		{`{"model":"m","max_tokens":900,"messages":[{"role":"user","content":"x"}]}`, "max_tokens"},
		{`{"model":"m","max_completion_tokens":900,"messages":[{"role":"user","content":"x"}]}`, "max_completion_tokens"},
	} {
		up := newScripted(t, http.StatusOK, "application/json", `{"choices":[]}`)
		req := mustDecode(t, tc.body)
		req.MaxTokens, req.CappedMaxTokens = 100, true
		if _, err := up.client().Chat(t.Context(), req); err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		json.Unmarshal(up.body(0), &got)
		if got[tc.field] != 100.0 {
			t.Errorf("%s: upstream body %s, want %s 100", tc.body, up.body(0), tc.field)
		}
	}
}

// TestClient_NativeCompletionsLimit: a legacy completion sent as written
// carries the limit the gateway counted on, as the official API applies
// it: 16 tokens when the client set none (Ollama and llama.cpp write
// until the context ends without one, past any model's cap), the model's
// cap when lower, the client's own otherwise, and 0 to score a prompt.
func TestClient_NativeCompletionsLimit(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		cap  int
		want any // the upstream's max_tokens
	}{
		{name: "none set", body: `{"model":"m","prompt":"x"}`, want: 16.0},
		{name: "none set, model capped above the default", body: `{"model":"m","prompt":"x"}`, cap: 2048, want: 16.0},
		{name: "null", body: `{"model":"m","prompt":"x","max_tokens":null}`, cap: 2048, want: 16.0},
		{name: "none set, model capped below the default", body: `{"model":"m","prompt":"x"}`, cap: 8, want: 8.0},
		{name: "the client's", body: `{"model":"m","prompt":"x","max_tokens":100}`, cap: 2048, want: 100.0},
		{name: "the client's, over the cap", body: `{"model":"m","prompt":"x","max_tokens":4000}`, cap: 2048, want: 2048.0},
		{name: "scoring", body: `{"model":"m","prompt":"x","echo":true,"max_tokens":0}`, cap: 2048, want: 0.0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := newScripted(t, http.StatusOK, "application/json",
				`{"id":"cmpl-1","object":"text_completion","choices":[{"text":"y","index":0,"finish_reason":"length"}]}`)
			c := up.client()
			c.SetNativeCompletions(true)
			req, err := openai.DecodeCompletions([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			// As the router hands it on.
			m := lyumen.Model{Name: "m", MaxTokens: tc.cap}
			req.Model = targetModel
			req.MaxTokens, req.CappedMaxTokens = m.AnswerLimit(req)
			if _, err := c.Chat(t.Context(), req); err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(up.body(0), &got); err != nil {
				t.Fatal(err)
			}
			if got["max_tokens"] != tc.want {
				t.Errorf("upstream body %s, want max_tokens %v", up.body(0), tc.want)
			}
		})
	}
}

// TestClient_LimitField: the answer's limit reaches an upstream in the
// field it reads: max_tokens for most servers (Ollama reads nothing else,
// so a translated request's limit, and a model's cap, were ignored there),
// max_completion_tokens for OpenAI's API, or the field configured.
func TestClient_LimitField(t *testing.T) {
	for base, want := range map[string]openai.LimitField{
		"https://api.openai.com/v1":                 openai.MaxCompletionTokens,
		"https://API.OpenAI.com/v1/":                openai.MaxCompletionTokens,
		"https://my-org.openai.azure.com/openai/v1": openai.MaxCompletionTokens,
		"http://127.0.0.1:11434/v1":                 openai.MaxTokens,
		"https://openrouter.ai/api/v1":              openai.MaxTokens,
		"https://api.openai.com.example.org/v1":     openai.MaxTokens,
		"http://[::1]:8000/v1":                      openai.MaxTokens,
		"%zz":                                       openai.MaxTokens,
	} {
		if got := openai.DefaultLimitField(base); got != want {
			t.Errorf("DefaultLimitField(%q) = %s, want %s", base, got, want)
		}
	}

	translated := &lyumen.Request{Surface: lyumen.SurfaceAnthropicMessages, Model: "m", MaxTokens: 64,
		Messages: []lyumen.Message{{Role: "user", Content: "x"}}}
	passed := func(body string, capped bool) *lyumen.Request {
		req := mustDecode(t, body)
		if capped {
			req.MaxTokens, req.CappedMaxTokens = 64, true
		}
		return req
	}
	onlyCompletion := `{"model":"m","max_completion_tokens":64,"messages":[{"role":"user","content":"x"}]}`
	onlyMax := `{"model":"m","max_tokens":64,"messages":[{"role":"user","content":"x"}]}`
	for _, tc := range []struct {
		name  string
		field openai.LimitField // "": the default for a local server
		req   *lyumen.Request
		want  map[string]any // the fields' values upstream; nil: absent
	}{
		{"translated, local server", "", translated, map[string]any{"max_tokens": 64.0, "max_completion_tokens": nil}},
		{"translated, OpenAI's field", openai.MaxCompletionTokens, translated, map[string]any{"max_tokens": nil, "max_completion_tokens": 64.0}},
		{"max_completion_tokens to a server that reads max_tokens", "", passed(onlyCompletion, false), map[string]any{"max_tokens": 64.0, "max_completion_tokens": 64.0}},
		{"capped, the same", "", passed(strings.Replace(onlyCompletion, "64", "900", 1), true), map[string]any{"max_tokens": 64.0, "max_completion_tokens": 64.0}},
		{"max_completion_tokens to OpenAI", openai.MaxCompletionTokens, passed(onlyCompletion, false), map[string]any{"max_tokens": nil, "max_completion_tokens": 64.0}},
		{"max_tokens to OpenAI, as the client sent it", openai.MaxCompletionTokens, passed(onlyMax, false), map[string]any{"max_tokens": 64.0, "max_completion_tokens": nil}},
		{"a cap with no field to OpenAI", openai.MaxCompletionTokens, passed(`{"model":"o3","messages":[{"role":"user","content":"x"}]}`, true), map[string]any{"max_tokens": nil, "max_completion_tokens": 64.0}},
		{"a cap with no field to a local server", "", passed(`{"model":"m","messages":[{"role":"user","content":"x"}]}`, true), map[string]any{"max_tokens": 64.0, "max_completion_tokens": nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := newScripted(t, http.StatusOK, "application/json", `{"choices":[]}`)
			c := up.client()
			if tc.field != "" {
				c.SetLimitField(tc.field)
			}
			if _, err := c.Chat(t.Context(), tc.req); err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			json.Unmarshal(up.body(0), &got)
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("upstream body %s: %s = %v, want %v", up.body(0), k, got[k], v)
				}
			}
		})
	}
}

func TestClient_InvalidResponse(t *testing.T) {
	up := newScripted(t, http.StatusOK, "application/json", `{"id":"x","choices":"nope"}`)
	_, err := up.client().Chat(t.Context(), mustDecode(t, `{"model":"m","messages":[{"role":"user","content":"x"}]}`))
	e, ok := errors.AsType[*lyumen.Error](err)
	if !ok || e.Kind != lyumen.KindUpstream || e.Message != "upstream sent an invalid response" {
		t.Errorf("error = %v, want KindUpstream \"upstream sent an invalid response\"", err)
	}
}

func TestClient_Timeout(t *testing.T) {
	fake := providertest.NewOpenAI(t)
	fake.Set(providertest.Behaviour{Delay: 10 * time.Second})
	tr := &http.Transport{ResponseHeaderTimeout: 50 * time.Millisecond}
	t.Cleanup(tr.CloseIdleConnections)
	c := openai.NewClient(fake.BaseURL(), apiKey, nil, tr)

	for _, stream := range []bool{false, true} {
		var err error
		if stream {
			_, err = c.ChatStream(t.Context(), mustDecode(t, `{"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]}`))
		} else {
			_, err = c.Chat(t.Context(), mustDecode(t, `{"model":"m","messages":[{"role":"user","content":"x"}]}`))
		}
		if k := lyumen.KindOf(err); k != lyumen.KindTimeout {
			t.Errorf("stream %v: error %v (kind %d), want KindTimeout", stream, err, k)
		}
	}
}

func TestClient_Unreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close() // nothing listens there now
	c := openai.NewClient(base, apiKey, nil, nil)
	_, err := c.Chat(t.Context(), mustDecode(t, `{"model":"m","messages":[{"role":"user","content":"x"}]}`))
	e, ok := errors.AsType[*lyumen.Error](err)
	if !ok || e.Kind != lyumen.KindUpstream || e.Status != 0 {
		t.Errorf("error = %v, want KindUpstream with no status", err)
	}
}

func TestClient_ContextCanceled(t *testing.T) {
	fake := providertest.NewOpenAI(t)
	fake.Set(providertest.Behaviour{Delay: 10 * time.Second})
	c := openai.NewClient(fake.BaseURL(), apiKey, nil, fake.Client().Transport)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Chat(ctx, mustDecode(t, `{"model":"m","messages":[{"role":"user","content":"x"}]}`))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want the context's error", err)
	}
}

// TestClient_TranslatedSurface: a request that arrived on another surface
// is sent as a chat completions body built from the canonical form, and
// its answer is not passed on raw.
func TestClient_TranslatedSurface(t *testing.T) {
	up := newScripted(t, http.StatusOK, "application/json",
		`{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}`)
	temp := 0.5
	req := &lyumen.Request{
		Surface: "anthropic.messages", Model: "m", MaxTokens: 64, Temperature: &temp, Stop: []string{"END"},
		Body: []byte(`{"not":"openai"}`),
		Messages: []lyumen.Message{
			{Role: "system", Content: "Be brief."},
			{Role: "user", Parts: []lyumen.Part{{Type: "text", Text: "What is it?"}, {Type: "image", MediaType: "image/png", Data: "iVBO"}}},
			{Role: "assistant", ToolCalls: []lyumen.ToolCall{{ID: "t1", Name: "look", Arguments: "{}"}}},
			{Role: "tool", ToolCallID: "t1", Content: "a cat"},
		},
		Tools:      []lyumen.Tool{{Name: "look", Parameters: json.RawMessage(`{"type":"object"}`)}},
		ToolChoice: &lyumen.ToolChoice{Mode: "tool", Name: "look"},
	}
	resp, err := up.client().Chat(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Raw != nil || resp.Choices[0].Message.Content != "ok" {
		t.Errorf("response %+v: want the canonical answer without Raw", resp)
	}
	want := `{"model":"m","messages":[{"role":"system","content":"Be brief."},` +
		`{"role":"user","content":[{"type":"text","text":"What is it?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBO"}}]},` +
		`{"role":"assistant","content":null,"tool_calls":[{"id":"t1","type":"function","function":{"name":"look","arguments":"{}"}}]},` +
		`{"role":"tool","content":"a cat","tool_call_id":"t1"}],"max_tokens":64,"temperature":0.5,"stop":["END"],` +
		`"tools":[{"type":"function","function":{"name":"look","parameters":{"type":"object"}}}],"tool_choice":{"function":{"name":"look"},"type":"function"}}`
	if got := string(up.body(0)); got != want {
		t.Errorf("upstream body:\n got %s\nwant %s", got, want)
	}
	req.Messages[1].Parts = append(req.Messages[1].Parts, lyumen.Part{Type: "input_audio"})
	if _, err := up.client().Chat(t.Context(), req); lyumen.KindOf(err) != lyumen.KindInvalid {
		t.Errorf("untranslatable part: %v, want KindInvalid", err)
	}
}

// TestClient_ToolResultImages: OpenAI's chat API takes images only in user
// messages ("Image URLs are only allowed for messages with role 'user'"),
// while Anthropic's tool_result blocks and Responses' function call
// outputs hold screenshots. A translated tool result keeps its text, and
// its images follow the run of tool results in a user message, where the
// model sees them before it answers.
func TestClient_ToolResultImages(t *testing.T) {
	up := newScripted(t, http.StatusOK, "application/json",
		`{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}`)
	req := &lyumen.Request{
		Surface: "anthropic.messages", Model: "m", MaxTokens: 64,
		Messages: []lyumen.Message{
			{Role: "user", Content: "Look at both pages."},
			{Role: "assistant", ToolCalls: []lyumen.ToolCall{{ID: "t1", Name: "shot", Arguments: "{}"}, {ID: "t2", Name: "shot", Arguments: "{}"}}},
			{Role: "tool", ToolCallID: "t1", Parts: []lyumen.Part{{Type: "text", Text: "page one:"}, {Type: "image", MediaType: "image/png", Data: "AAAA"}}},
			{Role: "tool", ToolCallID: "t2", Parts: []lyumen.Part{{Type: "image", URL: "https://example.org/2.png"}}},
			{Role: "user", Content: "Which is longer?"},
		},
		Tools: []lyumen.Tool{{Name: "shot", Parameters: json.RawMessage(`{"type":"object"}`)}},
	}
	if _, err := up.client().Chat(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	var sent struct {
		Messages []json.RawMessage `json:"messages"`
	}
	if err := json.Unmarshal(up.body(0), &sent); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range sent.Messages {
		got = append(got, string(m))
	}
	want := []string{
		`{"role":"user","content":"Look at both pages."}`,
		`{"role":"assistant","content":null,"tool_calls":[{"id":"t1","type":"function","function":{"name":"shot","arguments":"{}"}},{"id":"t2","type":"function","function":{"name":"shot","arguments":"{}"}}]}`,
		`{"role":"tool","content":[{"type":"text","text":"page one:"}],"tool_call_id":"t1"}`,
		`{"role":"tool","content":[{"type":"text","text":"[the result is the image in the next message]"}],"tool_call_id":"t2"}`,
		`{"role":"user","content":[{"type":"text","text":"The result of t1:"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}},{"type":"text","text":"The result of t2:"},{"type":"image_url","image_url":{"url":"https://example.org/2.png"}}]}`,
		`{"role":"user","content":"Which is longer?"}`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("messages sent upstream (-want +got):\n%s", diff)
	}
}

// TestClient_UsageDetails: the cached prompt tokens and the reasoning
// tokens an upstream counts in its usage details are read, whole and
// streamed, on the fast path and the general one (tool calls, numbers
// written 12.0, a details object of another shape), chat and legacy
// completions alike; details that are absent, null or of another shape
// count nothing and fail nothing.
func TestClient_UsageDetails(t *testing.T) {
	const (
		openAI    = `"usage":{"prompt_tokens":2006,"completion_tokens":300,"total_tokens":2306,"prompt_tokens_details":{"cached_tokens":1920,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":192,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}`
		text      = `"choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}]`
		toolCall  = `"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}]`
		textDelta = `"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]`
		toolDelta = `"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}]`
	)
	full := lyumen.Usage{PromptTokens: 2006, CompletionTokens: 300, TotalTokens: 2306, CachedTokens: 1920, ReasoningTokens: 192}
	plain := lyumen.Usage{PromptTokens: 20, CompletionTokens: 1, TotalTokens: 21}
	for _, tc := range []struct {
		name  string
		parts string // the members of an answer or chunk after id and model
		want  lyumen.Usage
	}{
		{"OpenAI's", text + "," + openAI, full},
		{"with tool calls", toolCall + "," + openAI, full},
		{"numbers written 12.0", text + `,"usage":{"prompt_tokens":2006.0,"completion_tokens":300,"total_tokens":2306,"prompt_tokens_details":{"cached_tokens":1920.0},"completion_tokens_details":{"reasoning_tokens":192.0}}`, full},
		{"details in another order", `"usage":{"completion_tokens_details":{"reasoning_tokens":192},"total_tokens":2306,"prompt_tokens_details":{"cached_tokens":1920},"prompt_tokens":2006,"completion_tokens":300},` + text, full},
		{"details null", text + `,"usage":{"prompt_tokens":20,"completion_tokens":1,"total_tokens":21,"prompt_tokens_details":null,"completion_tokens_details":null}`, plain},
		{"counts null", text + `,"usage":{"prompt_tokens":20,"completion_tokens":1,"total_tokens":21,"prompt_tokens_details":{"cached_tokens":null},"completion_tokens_details":{"reasoning_tokens":null}}`, plain},
		{"details of another shape", text + `,"usage":{"prompt_tokens":20,"completion_tokens":1,"total_tokens":21,"prompt_tokens_details":[],"completion_tokens_details":"none"}`, plain},
		{"a count in another case", text + `,"usage":{"prompt_tokens":20,"completion_tokens":1,"total_tokens":21,"prompt_tokens_details":{"Cached_Tokens":5}}`, plain},
		{"no details", text + `,"usage":{"prompt_tokens":20,"completion_tokens":1,"total_tokens":21}`, plain},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, object := range []string{"chat.completion", "text_completion"} {
				parts := tc.parts
				if object == "text_completion" {
					parts = strings.NewReplacer(`"message":{"role":"assistant","content":"Hi"}`, `"text":"Hi"`).Replace(parts)
					if strings.Contains(parts, "tool_calls") {
						continue
					}
				}
				body := `{"id":"c1","object":"` + object + `","created":1,"model":"m",` + parts + `}`
				up := newScripted(t, http.StatusOK, "application/json", body)
				c := up.client()
				req := mustDecode(t, `{"model":"m","messages":[{"role":"user","content":"x"}]}`)
				if object == "text_completion" {
					c.SetNativeCompletions(true)
					if req, _ = openai.DecodeCompletions([]byte(`{"model":"m","prompt":"x"}`)); req == nil {
						t.Fatal("DecodeCompletions")
					}
				}
				resp, err := c.Chat(t.Context(), req)
				if err != nil {
					t.Fatalf("%s: Chat: %v", object, err)
				}
				if diff := cmp.Diff(&tc.want, resp.Usage); diff != "" {
					t.Errorf("%s: usage (-want +got):\n%s", object, diff)
				}
			}

			// The same counts in a stream's usage chunk: alone, as OpenAI
			// sends it, and beside a delta.
			usage := tc.parts[strings.Index(tc.parts, `"usage":`):]
			if i := strings.Index(usage, `},"choices"`); i >= 0 {
				usage = usage[:i+1]
			}
			head := `{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m",`
			for _, chunks := range [][]string{
				{head + textDelta + `}`, head + `"choices":[],` + usage + `}`},
				{head + textDelta + "," + usage + `}`},
				{head + toolDelta + "," + usage + `}`},
			} {
				resp := assembled(t, sseBody(append(chunks, "[DONE]")...),
					mustDecode(t, `{"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]}`))
				if diff := cmp.Diff(&tc.want, resp.Usage); diff != "" {
					t.Errorf("streamed %s: usage (-want +got):\n%s", chunks, diff)
				}
			}

			// A legacy completion's stream, sent as written.
			up := newScripted(t, http.StatusOK, "text/event-stream", sseBody(
				`{"id":"c1","object":"text_completion","created":1,"model":"m","choices":[{"text":"Hi","index":0,"finish_reason":"stop"}]}`,
				`{"id":"c1","object":"text_completion","created":1,"model":"m","choices":[],`+usage+`}`, "[DONE]"))
			c := up.client()
			c.SetNativeCompletions(true)
			req, err := openai.DecodeCompletions([]byte(`{"model":"m","prompt":"x","stream":true}`))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&tc.want, assembledBy(t, c, req).Usage); diff != "" {
				t.Errorf("streamed legacy completion: usage (-want +got):\n%s", diff)
			}
		})
	}
}
