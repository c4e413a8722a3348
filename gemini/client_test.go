package gemini_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/gemini"
	"github.com/lyumen/lyumen/providertest"
)

const apiKey = "AIza-operator-key-5e1b"

func newFake(t *testing.T) (*providertest.Gemini, *gemini.Client) {
	t.Helper()
	up := providertest.NewGemini(t)
	rt := &http.Transport{ResponseHeaderTimeout: 500 * time.Millisecond}
	t.Cleanup(rt.CloseIdleConnections)
	return up, gemini.NewClient(up.BaseURL(), apiKey, map[string]string{"X-Title": "lyumen-test"}, rt)
}

func request(text string) *lyumen.Request {
	return &lyumen.Request{Model: "gemini-test", Messages: []lyumen.Message{
		{Role: "system", Content: "Be brief."},
		{Role: "user", Content: text},
	}}
}

// checkSeen compares what the upstream saw of a request with what it must
// see: the key in its header and nowhere else.
func checkSeen(t *testing.T, seen providertest.GeminiSeen, path string, stream bool) {
	t.Helper()
	got := struct {
		Path, Key, Authorization, QueryKey, Alt, Accept, Title string
		HasContents, HasSystem                                 bool
	}{
		seen.Path, seen.Header.Get("X-Goog-Api-Key"), seen.Header.Get("Authorization"), seen.Query.Get("key"),
		seen.Query.Get("alt"), seen.Header.Get("Accept"), seen.Header.Get("X-Title"),
		seen.Body["contents"] != nil, seen.Body["systemInstruction"] != nil,
	}
	want := got
	want.Path, want.Key, want.Authorization, want.QueryKey, want.Title = path, apiKey, "", "", "lyumen-test"
	want.Alt, want.Accept = "", "application/json"
	if stream {
		want.Alt, want.Accept = "sse", "text/event-stream"
	}
	want.HasContents, want.HasSystem = true, true
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("upstream saw (-want +got):\n%s", diff)
	}
}

func TestClient_Chat(t *testing.T) {
	up, c := newFake(t)
	resp, err := c.Chat(t.Context(), request("hello there"))
	if err != nil {
		t.Fatal(err)
	}
	want := &lyumen.Response{ID: "fake-response-1", Model: "gemini-test", Choices: []lyumen.Choice{{
		Message: lyumen.Message{Role: "assistant", Content: providertest.EchoText("hello there")}, FinishReason: "stop",
	}}, Usage: &lyumen.Usage{PromptTokens: 7, CompletionTokens: 3, TotalTokens: 10}}
	if diff := cmp.Diff(want, resp); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
	checkSeen(t, up.Seen()[0], "/v1beta/models/gemini-test:generateContent", false)
}

func TestClient_ChatStream(t *testing.T) {
	up, c := newFake(t)
	const gap = 200 * time.Millisecond
	up.Set(providertest.GeminiBehaviour{Behaviour: providertest.Behaviour{ChunkGap: gap}})
	start := time.Now()
	s, err := c.ChatStream(t.Context(), request("stream me please"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var a lyumen.Assembler
	var events []lyumen.Event
	for {
		ev, err := s.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if ev.Empty() {
			continue
		}
		if len(events) == 0 {
			// Four words, three gaps: the first must come long before the last.
			if d := time.Since(start); d > 2*gap {
				t.Errorf("first event after %v: the stream was not passed on event by event", d)
			}
		}
		events = append(events, ev)
		a.Add(&ev)
	}
	if len(events) != 5 { // one per word, then the usage
		t.Errorf("got %d events, want 5 (one per chunk, then usage)", len(events))
	}
	want := &lyumen.Response{ID: "fake-response-1", Model: "gemini-test", Choices: []lyumen.Choice{{
		Message: lyumen.Message{Role: "assistant", Content: providertest.EchoText("stream me please")}, FinishReason: "stop",
	}}, Usage: &lyumen.Usage{PromptTokens: 7, CompletionTokens: 4, TotalTokens: 11}}
	if diff := cmp.Diff(want, a.Response()); diff != "" {
		t.Errorf("assembled (-want +got):\n%s", diff)
	}
	checkSeen(t, up.Seen()[0], "/v1beta/models/gemini-test:streamGenerateContent", true)
}

func TestClient_ToolCall(t *testing.T) {
	wantCall := []lyumen.ToolCall{{Index: 0, ID: "call_fake-response-1_0", Type: "function", Name: "get_weather", Arguments: `{"city":"Paris"}`}}
	req := request("weather in Paris?")
	req.Tools = []lyumen.Tool{{Name: "get_weather", Parameters: []byte(`{"type":"object","properties":{"city":{"type":"string"}}}`)}}
	t.Run("non-streamed", func(t *testing.T) {
		up, c := newFake(t)
		up.Set(providertest.GeminiBehaviour{Behaviour: providertest.Behaviour{ToolCall: true}})
		resp, err := c.Chat(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(wantCall, resp.Choices[0].Message.ToolCalls); diff != "" {
			t.Errorf("tool calls (-want +got):\n%s", diff)
		}
		if got := resp.Choices[0].FinishReason; got != "tool_calls" {
			t.Errorf("finish reason %q, want tool_calls", got)
		}
		if up.Seen()[0].Body["tools"] == nil {
			t.Error("tools were not sent")
		}
	})
	t.Run("streamed", func(t *testing.T) {
		up, c := newFake(t)
		up.Set(providertest.GeminiBehaviour{Behaviour: providertest.Behaviour{ToolCall: true}})
		s, err := c.ChatStream(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		evs, err := readAll(t, s)
		if err != nil {
			t.Fatal(err)
		}
		var a lyumen.Assembler
		for i := range evs {
			a.Add(&evs[i])
		}
		resp := a.Response()
		if diff := cmp.Diff(wantCall, resp.Choices[0].Message.ToolCalls); diff != "" {
			t.Errorf("tool calls (-want +got):\n%s", diff)
		}
		if got := resp.Choices[0].FinishReason; got != "tool_calls" {
			t.Errorf("finish reason %q, want tool_calls", got)
		}
	})
}

func TestClient_MidStreamDeath(t *testing.T) {
	up, c := newFake(t)
	up.Set(providertest.GeminiBehaviour{Behaviour: providertest.Behaviour{DieAfter: 2}})
	s, err := c.ChatStream(t.Context(), request("one two three four"))
	if err != nil {
		t.Fatal(err)
	}
	evs, err := readAll(t, s)
	if len(evs) != 2 {
		t.Errorf("got %d events before the cut, want 2", len(evs))
	}
	if k := lyumen.KindOf(err); k != lyumen.KindUpstream {
		t.Errorf("error %v of kind %v, want KindUpstream", err, k)
	}
}

func TestClient_UpstreamErrors(t *testing.T) {
	tests := []struct {
		name   string
		b      providertest.GeminiBehaviour
		key    string
		status int
		msg    string
	}{
		{"quota", providertest.GeminiBehaviour{Behaviour: providertest.Behaviour{Status: 429, ErrorText: "Resource has been exhausted (e.g. check quota)."}},
			apiKey, 429, "upstream: Resource has been exhausted (e.g. check quota)."},
		{"overloaded", providertest.GeminiBehaviour{Behaviour: providertest.Behaviour{Status: 503, ErrorText: "The model is overloaded. Please try again later."}},
			apiKey, 503, "upstream: The model is overloaded. Please try again later."},
		{"no key", providertest.GeminiBehaviour{}, "", 403,
			"upstream: Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API."},
		{"blocked prompt", providertest.GeminiBehaviour{BlockReason: "SAFETY"}, apiKey, 400,
			"upstream: the provider blocked the prompt (blockReason SAFETY)"},
	}
	for _, tc := range tests {
		for _, stream := range []bool{false, true} {
			t.Run(tc.name+map[bool]string{false: "", true: " streamed"}[stream], func(t *testing.T) {
				up := providertest.NewGemini(t)
				up.Set(tc.b)
				c := gemini.NewClient(up.BaseURL(), tc.key, nil, &http.Transport{})
				var err error
				if stream {
					var s lyumen.Stream
					if s, err = c.ChatStream(t.Context(), request("hi")); err == nil {
						_, err = s.Next() // a blocked prompt fails there
						s.Close()
					}
				} else {
					_, err = c.Chat(t.Context(), request("hi"))
				}
				wantError(t, err, lyumen.KindUpstream, tc.status, tc.msg)
			})
		}
	}
}

func TestClient_Timeout(t *testing.T) {
	up := providertest.NewGemini(t)
	up.Set(providertest.GeminiBehaviour{Behaviour: providertest.Behaviour{Delay: 2 * time.Second}})
	c := gemini.NewClient(up.BaseURL(), apiKey, nil, &http.Transport{ResponseHeaderTimeout: 50 * time.Millisecond})
	_, err := c.Chat(t.Context(), request("hi"))
	wantError(t, err, lyumen.KindTimeout, 0, "the upstream did not answer in time")
	_, err = c.ChatStream(t.Context(), request("hi"))
	wantError(t, err, lyumen.KindTimeout, 0, "the upstream did not answer in time")
}

func TestClient_ClientLeaves(t *testing.T) {
	up, c := newFake(t)
	up.Set(providertest.GeminiBehaviour{Behaviour: providertest.Behaviour{Delay: 2 * time.Second}})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.Chat(ctx, request("hi")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v, want the context's", err)
	}
}

func TestClient_ModelPath(t *testing.T) {
	tests := []struct{ model, path string }{
		{"gemini-2.5-flash", "/v1beta/models/gemini-2.5-flash:generateContent"},
		{"models/gemini-2.5-pro", "/v1beta/models/gemini-2.5-pro:generateContent"},
	}
	for _, tc := range tests {
		t.Run(tc.model, func(t *testing.T) {
			var got string
			rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				got = r.URL.EscapedPath()
				return &http.Response{StatusCode: 500, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
			})
			c := gemini.NewClient("https://gemini.invalid/v1beta/", apiKey, nil, rt)
			c.Chat(t.Context(), &lyumen.Request{Model: tc.model})
			if got != tc.path {
				t.Errorf("path %q, want %q", got, tc.path)
			}
		})
	}
}
