package anthropic_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/anthropic"
	"github.com/lyumen/lyumen/openai"
	"github.com/lyumen/lyumen/providertest"
)

const operatorKey = "sk-ant-operator-1f2e"

func newClient(tb testing.TB) (*anthropic.Client, *providertest.Anthropic) {
	tb.Helper()
	up := providertest.NewAnthropic(tb)
	rt := &http.Transport{ResponseHeaderTimeout: 300 * time.Millisecond}
	return anthropic.NewClient(up.BaseURL(), operatorKey, map[string]string{"anthropic-beta": "tools-2099"}, rt), up
}

func decodeAnthropic(tb testing.TB, body string) *lyumen.Request {
	tb.Helper()
	req, err := anthropic.DecodeMessages([]byte(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Model = "claude-upstream"
	return req
}

// collect reads a stream to its end.
func collect(tb testing.TB, st lyumen.Stream) ([]lyumen.Event, *lyumen.Response, error) {
	tb.Helper()
	defer st.Close()
	var evs []lyumen.Event
	var asm lyumen.Assembler
	for {
		ev, err := st.Next()
		if errors.Is(err, io.EOF) {
			return evs, asm.Response(), nil
		}
		if err != nil {
			return evs, asm.Response(), err
		}
		if ev.Empty() { // a pause with nothing to send, as serveStream skips it
			continue
		}
		ev.Raw = append([]byte(nil), ev.Raw...) // valid until the next call only
		evs = append(evs, ev)
		asm.Add(&ev)
	}
}

func TestClient_PassThrough(t *testing.T) {
	c, up := newClient(t)
	body := `{"model":"claude-public","max_tokens":64,"top_k":3,"metadata":{"user_id":"u"},` +
		`"messages":[{"role":"user","content":[{"type":"text","text":"hello there","cache_control":{"type":"ephemeral"}}]}]}`
	resp, err := c.Chat(t.Context(), decodeAnthropic(t, body))
	if err != nil {
		t.Fatal(err)
	}
	seen := up.Seen()[0]
	var want map[string]any
	json.Unmarshal([]byte(body), &want)
	want["model"] = "claude-upstream"
	if diff := cmp.Diff(want, seen.Body); diff != "" {
		t.Errorf("upstream body (-want +got):\n%s", diff)
	}
	headers := map[string]string{}
	for _, k := range []string{"X-Api-Key", "Anthropic-Version", "Anthropic-Beta", "Content-Type", "Authorization"} {
		headers[k] = seen.Header.Get(k)
	}
	if diff := cmp.Diff(map[string]string{"X-Api-Key": operatorKey, "Anthropic-Version": "2023-06-01", "Anthropic-Beta": "tools-2099",
		"Content-Type": "application/json", "Authorization": ""}, headers); diff != "" {
		t.Errorf("upstream headers (-want +got):\n%s", diff)
	}
	if !strings.Contains(string(resp.Raw), `"type":"message"`) {
		t.Errorf("Raw = %s, want the upstream's message", resp.Raw)
	}
	wantResp := &lyumen.Response{ID: "msg_fake", Model: "claude-upstream", Raw: resp.Raw,
		Choices: []lyumen.Choice{{Message: lyumen.Message{Role: "assistant", Content: providertest.EchoText("hello there")}, FinishReason: "stop"}},
		Usage:   &lyumen.Usage{PromptTokens: 7, CompletionTokens: 3, TotalTokens: 10, CachedTokens: 2}}
	if diff := cmp.Diff(wantResp, resp); diff != "" {
		t.Errorf("canonical response (-want +got):\n%s", diff)
	}
}

// TestClient_AnthropicBeta: the client's beta flags the operator allows
// join the operator's, each once, on whole and streamed requests alike;
// the others are dropped (an upstream quoting an unknown flag in its error
// would quote the client's words into the record).
func TestClient_AnthropicBeta(t *testing.T) {
	allowed := []string{"context-1m-2025-08-07", "context-management-2025-06-27", "b", "c"}
	tests := []struct {
		name     string
		operator map[string]string
		allow    []string
		client   []string
		want     []string
	}{
		{name: "none", allow: allowed, want: nil},
		{name: "the operator's alone", operator: map[string]string{"anthropic-beta": "tools-2099"}, allow: allowed, want: []string{"tools-2099"}},
		{name: "the client's alone", allow: allowed, client: []string{"context-1m-2025-08-07"}, want: []string{"context-1m-2025-08-07"}},
		{name: "none allowed", client: []string{"context-1m-2025-08-07"}, want: nil},
		{name: "not allowed", allow: allowed, client: []string{"mcp-client-2025-04-04,secret-token-of-the-client"}, want: nil},
		{name: "merged, each flag once", operator: map[string]string{"anthropic-beta": "tools-2099, b"}, allow: allowed,
			client: []string{"b,context-management-2025-06-27,files-api-2025-04-14", " tools-2099 ,, c"},
			want:   []string{"tools-2099,b,context-management-2025-06-27,c"}},
	}
	for _, tc := range tests {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", tc.name, stream), func(t *testing.T) {
				up := providertest.NewAnthropic(t)
				c := anthropic.NewClient(up.BaseURL(), operatorKey, tc.operator, nil)
				c.AllowBetas(tc.allow)
				req := decodeAnthropic(t, fmt.Sprintf(`{"model":"m","max_tokens":9,"stream":%v,"messages":[{"role":"user","content":"q"}]}`, stream))
				req.AnthropicBeta = tc.client
				if stream {
					st, err := c.ChatStream(t.Context(), req)
					if err != nil {
						t.Fatal(err)
					}
					if _, _, err := collect(t, st); err != nil {
						t.Fatal(err)
					}
				} else if _, err := c.Chat(t.Context(), req); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tc.want, up.Seen()[0].Header.Values("Anthropic-Beta")); diff != "" {
					t.Errorf("upstream anthropic-beta (-want +got):\n%s", diff)
				}
			})
		}
	}
	t.Run("the client's flags leave the provider's headers alone", func(t *testing.T) {
		c, up := newClient(t)
		for _, beta := range [][]string{{"client-1"}, nil} {
			req := decodeAnthropic(t, `{"model":"m","max_tokens":9,"messages":[{"role":"user","content":"q"}]}`)
			req.AnthropicBeta = beta
			if _, err := c.Chat(t.Context(), req); err != nil {
				t.Fatal(err)
			}
		}
		if got := up.Seen()[1].Header.Get("Anthropic-Beta"); got != "tools-2099" {
			t.Errorf("the next request's anthropic-beta = %q, want the operator's alone", got)
		}
	})
}

func TestClient_CappedMaxTokens(t *testing.T) {
	c, up := newClient(t)
	req := decodeAnthropic(t, `{"model":"m","max_tokens":9000,"messages":[{"role":"user","content":"q"}]}`)
	req.MaxTokens, req.CappedMaxTokens = 100, true
	if _, err := c.Chat(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	if got := up.Seen()[0].Body["max_tokens"]; got != 100.0 {
		t.Errorf("max_tokens = %v, want the cap 100", got)
	}
}

func TestClient_Translated(t *testing.T) {
	c, up := newClient(t)
	req, err := openai.DecodeChat([]byte(`{"model":"gpt","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hi there"}],"seed":3}`))
	if err != nil {
		t.Fatal(err)
	}
	up.Set(providertest.Behaviour{ToolCall: true})
	resp, err := c.Chat(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"model": "gpt", "max_tokens": 4096.0, "system": "Be brief.",
		"messages": []any{map[string]any{"role": "user", "content": "hi there"}}}
	if diff := cmp.Diff(want, up.Seen()[0].Body); diff != "" {
		t.Errorf("upstream body (-want +got):\n%s", diff)
	}
	if resp.Raw != nil {
		t.Error("Raw set for a client on another surface")
	}
	wantResp := &lyumen.Response{ID: "msg_fake", Model: "gpt",
		Choices: []lyumen.Choice{{FinishReason: "tool_calls", Message: lyumen.Message{Role: "assistant", Content: "Let me check.",
			ToolCalls: []lyumen.ToolCall{{Index: 0, ID: "toolu_1", Type: "function", Name: "get_weather", Arguments: `{"city":"Paris"}`}}}}},
		Usage: &lyumen.Usage{PromptTokens: 7, CompletionTokens: 12, TotalTokens: 19, CachedTokens: 2}}
	if diff := cmp.Diff(wantResp, resp); diff != "" {
		t.Errorf("canonical response (-want +got):\n%s", diff)
	}
}

func TestClient_ChatStream(t *testing.T) {
	t.Run("passed through", func(t *testing.T) {
		c, _ := newClient(t)
		st, err := c.ChatStream(t.Context(), decodeAnthropic(t, `{"model":"m","max_tokens":9,"stream":true,"messages":[{"role":"user","content":"one two"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		evs, resp, err := collect(t, st)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, ev := range evs {
			names = append(names, ev.RawEvent)
			if !json.Valid(ev.Raw) {
				t.Errorf("event %s without its payload", ev.RawEvent)
			}
		}
		// The ping is dropped; message_stop ends the stream (the surface
		// writes its own once the exchange is recorded).
		want := []string{"message_start", "content_block_start", "content_block_delta", "content_block_delta", "content_block_delta",
			"content_block_stop", "message_delta"}
		if diff := cmp.Diff(want, names); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
		wantResp := &lyumen.Response{ID: "msg_fake", Model: "claude-upstream",
			Choices: []lyumen.Choice{{Message: lyumen.Message{Role: "assistant", Content: "Echo: one two"}, FinishReason: "stop"}},
			Usage:   &lyumen.Usage{PromptTokens: 7, CompletionTokens: 3, TotalTokens: 10, CachedTokens: 2}}
		if diff := cmp.Diff(wantResp, resp); diff != "" {
			t.Errorf("assembled (-want +got):\n%s", diff)
		}
	})
	t.Run("translated tool call", func(t *testing.T) {
		c, up := newClient(t)
		up.Set(providertest.Behaviour{ToolCall: true})
		req, _ := openai.DecodeChat([]byte(`{"model":"gpt","stream":true,"messages":[{"role":"user","content":"weather?"}]}`))
		st, err := c.ChatStream(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		evs, resp, err := collect(t, st)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if ev.Raw != nil || ev.ID != "msg_fake" || ev.Model != "gpt" {
				t.Errorf("event %+v: want id and model on every event, and no Raw", ev)
			}
		}
		last := evs[len(evs)-1]
		if len(last.Choices) != 0 || last.Usage == nil {
			t.Errorf("last event %+v, want the usage on its own, as OpenAI streams it", last)
		}
		wantResp := &lyumen.Response{ID: "msg_fake", Model: "gpt",
			Choices: []lyumen.Choice{{FinishReason: "tool_calls", Message: lyumen.Message{Role: "assistant", Content: "Let me check.",
				ToolCalls: []lyumen.ToolCall{{Index: 0, ID: "toolu_1", Type: "function", Name: "get_weather", Arguments: `{"city": "Paris"}`}}}}},
			Usage: &lyumen.Usage{PromptTokens: 7, CompletionTokens: 12, TotalTokens: 19, CachedTokens: 2}}
		if diff := cmp.Diff(wantResp, resp); diff != "" {
			t.Errorf("assembled (-want +got):\n%s", diff)
		}
		if got := up.Seen()[0].Header.Get("Accept"); got != "text/event-stream" {
			t.Errorf("Accept = %q", got)
		}
	})
}

func TestClient_Errors(t *testing.T) {
	msgs := `"messages":[{"role":"user","content":"a b c d e"}]`
	tests := []struct {
		name   string
		b      providertest.Behaviour
		fail   int  // error event after this many events
		stream bool // the error comes from Next, not from the call
		kind   lyumen.Kind
		status int
		msg    string
	}{
		{name: "400", b: providertest.Behaviour{Status: 400, ErrorText: "temperature: too hot"}, kind: lyumen.KindUpstream, status: 400, msg: "upstream: temperature: too hot"},
		{name: "401", b: providertest.Behaviour{Status: 401}, kind: lyumen.KindUpstream, status: 401, msg: "upstream: the upstream refused the gateway's credentials"},
		{name: "429", b: providertest.Behaviour{Status: 429, ErrorText: "slow down"}, kind: lyumen.KindUpstream, status: 429, msg: "upstream: slow down"},
		{name: "529", b: providertest.Behaviour{Status: 529, ErrorText: "Overloaded"}, kind: lyumen.KindUpstream, status: 529, msg: "upstream: Overloaded"},
		{name: "timeout", b: providertest.Behaviour{Delay: time.Second}, kind: lyumen.KindTimeout, msg: "the upstream did not answer in time"},
		{name: "dies mid-stream", b: providertest.Behaviour{DieAfter: 3}, stream: true, kind: lyumen.KindUpstream, msg: "the upstream stream ended early"},
		{name: "error event mid-stream", fail: 4, stream: true, kind: lyumen.KindUpstream, status: 529, msg: "upstream: Overloaded"},
	}
	for _, tc := range tests {
		for _, stream := range []bool{false, true} {
			if tc.stream && !stream {
				continue
			}
			t.Run(tc.name+map[bool]string{true: " stream", false: ""}[stream], func(t *testing.T) {
				c, up := newClient(t)
				up.Set(tc.b)
				if tc.fail > 0 {
					up.FailAfter(tc.fail)
				}
				var err error
				if stream {
					var st lyumen.Stream
					st, err = c.ChatStream(t.Context(), decodeAnthropic(t, `{"model":"m","max_tokens":9,"stream":true,`+msgs+`}`))
					if err == nil {
						if !tc.stream {
							t.Fatal("stream opened")
						}
						_, _, err = collect(t, st)
					}
				} else {
					_, err = c.Chat(t.Context(), decodeAnthropic(t, `{"model":"m","max_tokens":9,`+msgs+`}`))
				}
				e, ok := errors.AsType[*lyumen.Error](err)
				if !ok {
					t.Fatalf("err = %v, want a *lyumen.Error", err)
				}
				got := []any{e.Kind, e.Status, e.Message}
				if diff := cmp.Diff([]any{tc.kind, tc.status, tc.msg}, got); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestClient_RetryAfterAndDefaults(t *testing.T) {
	up := &canned{status: 429, reply: []byte(`{"type":"error","error":{"type":"rate_limit_error","message":"later"}}`)}
	c := anthropic.NewClient("", "", nil, retryAfter{up})
	_, err := c.Chat(t.Context(), decodeAnthropic(t, `{"model":"m","max_tokens":9,"messages":[{"role":"user","content":"q"}]}`))
	e, ok := errors.AsType[*lyumen.Error](err)
	if !ok || e.RetryAfter != 7*time.Second || e.Status != 429 {
		t.Errorf("err = %#v, want status 429 and Retry-After 7s", err)
	}
	if got := up.got.URL.String(); got != "https://api.anthropic.com/v1/messages" {
		t.Errorf("default URL = %s", got)
	}
	if got := up.got.Header.Get("X-Api-Key"); got != "" {
		t.Errorf("x-api-key %q sent without a key", got)
	}
}

type retryAfter struct{ rt http.RoundTripper }

func (r retryAfter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.rt.RoundTrip(req)
	if resp != nil {
		resp.Header.Set("Retry-After", "7")
	}
	return resp, err
}

func TestClient_InvalidAnswers(t *testing.T) {
	req := decodeAnthropic(t, `{"model":"m","max_tokens":9,"stream":true,"messages":[{"role":"user","content":"q"}]}`)
	tests := []struct{ name, reply string }{
		{"not JSON", "event: message_start\ndata: {oops\n\n"},
		{"not an object", "event: message_start\ndata: [1]\n\n"},
		{"no message_stop", "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\"}}\n\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := anthropic.NewClient("http://up.test", "k", nil, &canned{reply: []byte(tc.reply)})
			st, err := c.ChatStream(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = collect(t, st)
			if e, ok := errors.AsType[*lyumen.Error](err); !ok || e.Kind != lyumen.KindUpstream || e.Status != 0 {
				t.Errorf("err = %v, want KindUpstream without a status (another target may do better)", err)
			}
		})
	}
	t.Run("error envelope with 200", func(t *testing.T) {
		reply := `{"type":"error","error":{"type":"api_error","message":"boom"}}`
		c := anthropic.NewClient("http://up.test", "k", nil, &canned{reply: []byte(reply)})
		_, err := c.Chat(t.Context(), decodeAnthropic(t, `{"model":"m","max_tokens":9,"messages":[{"role":"user","content":"q"}]}`))
		if e, ok := errors.AsType[*lyumen.Error](err); !ok || e.Kind != lyumen.KindUpstream || e.Message != "upstream: boom" {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("whole answer not JSON", func(t *testing.T) {
		c := anthropic.NewClient("http://up.test", "k", nil, &canned{reply: []byte(`<html>`)})
		req := decodeAnthropic(t, `{"model":"m","max_tokens":9,"messages":[{"role":"user","content":"q"}]}`)
		_, err := c.Chat(t.Context(), req)
		if e, ok := errors.AsType[*lyumen.Error](err); !ok || e.Kind != lyumen.KindUpstream {
			t.Errorf("err = %v", err)
		}
	})
}
