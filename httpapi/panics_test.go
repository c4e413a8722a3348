package httpapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/httpapi"
)

// panicLimiter is a Limiter with a bug: Admit panics.
type panicLimiter struct{}

func (panicLimiter) Admit(context.Context, string, string, int64) (lyumen.Allowance, error) {
	panic("limiter bug")
}

func (panicLimiter) Settle(context.Context, string, string, time.Time, int64) error { return nil }

// TestLimits_PanicsOutsideTheExchange: a panic in a handler that is not
// an exchange (count_tokens, embeddings), here the Limiter's Admit, is
// recovered by harden's recoverPanic, which has no codec to ask: it still
// answers a 500 in the route's own envelope, Anthropic's under
// /v1/messages/, OpenAI's elsewhere under /v1/. The exchanges, which
// recover with their codec, answer the same. TestLimits_Panics only
// panics inside a chat exchange. Kills recoverPanic answering every /v1/
// route in OpenAI's envelope (count_tokens), or in Anthropic's
// (embeddings).
func TestLimits_PanicsOutsideTheExchange(t *testing.T) {
	const msgs = `"messages":[{"role":"user","content":"x"}]`
	for _, tc := range []struct {
		path, body string
		anthropic  bool
	}{
		{"/v1/messages/count_tokens", `{"model":"gpt-test",` + msgs + `}`, true},
		{"/v1/embeddings", `{"model":"gpt-test","input":"x"}`, false},
		{"/v1/messages", `{"model":"gpt-test","max_tokens":5,` + msgs + `}`, true},
		{"/v1/chat/completions", `{"model":"gpt-test",` + msgs + `}`, false},
	} {
		t.Run(tc.path, func(t *testing.T) {
			g := newLimited(t, httpapi.Options{Limiter: panicLimiter{}}, embedFake{fakeProvider: &fakeProvider{}})
			resp, body := g.post(t, tc.path, tc.body, nil)
			if resp.StatusCode != 500 {
				t.Errorf("status %s, want 500: %s", resp.Status, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if tc.anthropic {
				if anthropicErrType([]byte(body)) != "api_error" {
					t.Errorf("not an Anthropic api_error: %s", body)
				}
			} else if typ, _ := decodeOpenAIErr(t, body); typ != "server_error" {
				t.Errorf("OpenAI error type %q, want server_error: %s", typ, body)
			}
			logs := g.logs.String()
			if !strings.Contains(logs, "panic serving request") || !strings.Contains(logs, "limiter bug") {
				t.Errorf("the panic was not logged:\n%s", logs)
			}
			if strings.Contains(logs, "127.0.0.1") {
				t.Error("the log of the panic holds the client's address")
			}
		})
	}
}
