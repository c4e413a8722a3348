package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/httpapi"
	"github.com/lyumen/lyumen/limittest"
	"github.com/lyumen/lyumen/ratelimit"
)

// TestLimits_DisconnectBeforeFirstTokenPaysItsPrompt: a client whose
// prompt the upstream has received, and who leaves before the first token,
// pays for the prompt. Refunded its whole estimate, with tokens_per_minute
// 1000 and prompts of ~900 tokens, it sent one such prompt after another
// with no wait: N minutes' worth of prompt tokens in one minute.
func TestLimits_DisconnectBeforeFirstTokenPaysItsPrompt(t *testing.T) {
	clock := limittest.NewClock() // time does not move: no refill at all
	lim := ratelimit.New(ratelimit.Options{RequestsPerMinute: 1000, TokensPerMinute: 1000, Now: clock.Now})
	hold, entered := make(chan struct{}), make(chan struct{}, 1)
	defer close(hold)
	g := newLimited(t, httpapi.Options{Limiter: lim}, &fakeProvider{events: 2, hold: hold, entered: entered})
	body := chatBody(true, strings.Repeat("a", 3500)) // ~900 tokens estimated
	reachedUpstream := 0
	for i := range 5 {
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan int, 1)
		go func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, g.srv.URL+"/v1/chat/completions", strings.NewReader(body))
			resp, err := g.srv.Client().Do(req)
			if err != nil {
				done <- 0
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			done <- resp.StatusCode
		}()
		select {
		case <-entered: // the upstream has the prompt
			reachedUpstream++
			cancel() // the client leaves before the first token
			<-done
		case st := <-done:
			cancel()
			t.Logf("request %d: %d", i+1, st)
			continue
		}
		g.recs.wait(t, reachedUpstream)
		time.Sleep(50 * time.Millisecond) // Settle follows the record
	}
	if reachedUpstream > 1 {
		t.Errorf("%d prompts of ~900 tokens reached the upstream on a budget of 1000 tokens a minute, with no time passing: leaving before the first token refunds the prompt", reachedUpstream)
	}
}

// reasoningProvider streams a long reasoning, then a short answer, and
// reports no usage (as when the client leaves before the last event).
type reasoningProvider struct{ fakeProvider }

type reasoningStream struct{ n int }

func (*reasoningProvider) ChatStream(ctx context.Context, req *lyumen.Request) (lyumen.Stream, error) {
	return &reasoningStream{}, nil
}

func (s *reasoningStream) Next() (lyumen.Event, error) {
	s.n++
	switch {
	case s.n <= 100:
		return lyumen.Event{ID: "c", Model: "served", Choices: []lyumen.ChoiceDelta{{Reasoning: strings.Repeat("r", 1000)}}}, nil
	case s.n == 101:
		return lyumen.Event{ID: "c", Model: "served", Choices: []lyumen.ChoiceDelta{{Content: "ok"}}}, nil
	}
	return lyumen.Event{}, io.EOF
}

func (s *reasoningStream) Close() error { return nil }

// TestLimits_ReasoningCharged: without the upstream's usage, an answer
// is charged a quarter token per byte of its content, tool calls and
// reasoning. Reasoning was left out: 100,000 bytes of it (about 25,000
// tokens the upstream generated and the client was sent on surfaces that
// show it) cost the client nothing.
func TestLimits_ReasoningCharged(t *testing.T) {
	spy := &spyLimiter{}
	g := newLimited(t, httpapi.Options{Limiter: spy}, &reasoningProvider{})
	resp, got := g.post(t, "/v1/responses", fmt.Sprintf(`{"model":%q,"stream":true,"input":"think hard"}`, limitedModel), nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if n := strings.Count(got, "r"); n < 100_000 {
		t.Fatalf("the client was sent %d bytes of reasoning", n)
	}
	g.recs.wait(t, 1)
	admits, settles := waitSettles(t, spy)
	if len(admits) != 1 || len(settles) != 1 {
		t.Fatalf("admits %v settles %v", admits, settles)
	}
	charged := admits[0].Tokens + settles[0].Tokens
	if charged < 25_000 {
		t.Errorf("charged %d tokens for an answer with 100,000 bytes of reasoning and no usage", charged)
	}
}
