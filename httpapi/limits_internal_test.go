package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen"
)

// refusingLimiter refuses every request to the model "refused".
type refusingLimiter struct{}

func (refusingLimiter) Admit(_ context.Context, _, model string, _ int64) (lyumen.Allowance, error) {
	if model == "refused" {
		a := lyumen.Allowance{RetryAfter: time.Second}
		return a, lyumen.RateLimited(a)
	}
	return lyumen.Allowance{}, nil
}

func (refusingLimiter) Settle(context.Context, string, string, time.Time, int64) error { return nil }

type stubCodec struct{}

func (stubCodec) surface() lyumen.Surface            { return lyumen.SurfaceOpenAIChat }
func (stubCodec) error(error) (status int, b []byte) { return http.StatusTooManyRequests, []byte("{}") }

// TestAdmission_Release: whatever admission decides, what it took is given
// back once: a refusal at a model's capacity or by the Limiter frees the
// client's count, one at the client's limit takes nothing, an exchange's
// end frees its slot and count, releasing twice frees no one else's, and
// the client's key is not kept in memory once nothing of it is in flight.
func TestAdmission_Release(t *testing.T) {
	s := &server{
		Options: Options{
			Limiter:   refusingLimiter{},
			Catalog:   lyumen.NewCatalog(nil),
			OnRefused: func(lyumen.Surface, string) {},
			Limits:    Limits{ClientConcurrency: 3, Models: map[string]ModelLimits{"one": {Concurrency: 1}, "two": {Concurrency: 2}}},
		},
		logger: slog.New(slog.DiscardHandler),
	}
	s.limits = newLimitState(s.Limits)
	admit := func(model string) (*admission, bool) { // as the exchange handler does
		t.Helper()
		w, r := httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil) // from 192.0.2.1
		a, ok := s.admitClient(w, r, stubCodec{}, false)
		if !ok {
			return nil, false
		}
		if !s.admit(w, r, stubCodec{}, a, &lyumen.Request{Model: model}, []byte("{}")) {
			a.release()
			return nil, false
		}
		return a, true
	}
	held := func() (clients map[string]int, slots map[string]int) {
		s.limits.mu.Lock()
		defer s.limits.mu.Unlock()
		clients, slots = map[string]int{}, map[string]int{}
		for k, n := range s.limits.clients {
			clients[k] = n
		}
		for m, ch := range s.limits.models {
			slots[m] = len(ch)
		}
		return clients, slots
	}
	check := func(step string, clients map[string]int, one, two int) { // fatal: a slot released twice would block the next release
		t.Helper()
		gotClients, gotSlots := held()
		if diff := cmp.Diff(clients, gotClients); diff != "" {
			t.Fatalf("%s: exchanges in flight by client (-want +got):\n%s", step, diff)
		}
		if diff := cmp.Diff(map[string]int{"one": one, "two": two}, gotSlots); diff != "" {
			t.Fatalf("%s: slots taken by model (-want +got):\n%s", step, diff)
		}
	}

	c, ok := admit("one")
	if !ok {
		t.Fatal("the first exchange was refused")
	}
	check("one exchange", map[string]int{"192.0.2.1": 1}, 1, 0)
	if _, ok := admit("one"); ok {
		t.Fatal("admitted past the model's capacity")
	}
	check("refused at the model's capacity", map[string]int{"192.0.2.1": 1}, 1, 0)
	if _, ok := admit("refused"); ok {
		t.Fatal("admitted although the Limiter refused")
	}
	check("refused by the Limiter", map[string]int{"192.0.2.1": 1}, 1, 0)
	a, okA := admit("two")
	b, okB := admit("two")
	if !okA || !okB {
		t.Fatal("exchanges within every limit were refused")
	}
	check("three exchanges", map[string]int{"192.0.2.1": 3}, 1, 2)
	if _, ok := admit("two"); ok {
		t.Fatal("admitted past the client's limit")
	}
	check("refused at the client's limit", map[string]int{"192.0.2.1": 3}, 1, 2)

	a.release()
	a.release()
	check("one released twice", map[string]int{"192.0.2.1": 2}, 1, 1)
	b.done(t.Context(), &lyumen.Record{})
	c.done(t.Context(), &lyumen.Record{})
	check("all done", map[string]int{}, 0, 0)
}

// TestUsedTokens_ClientLeft: a client that left before any answer pays
// its prompt when the last upstream asked had the request (answered, or
// still at work), and nothing when none had: refused (a 429 the router
// waited out), passed over as resting, or never asked.
func TestUsedTokens_ClientLeft(t *testing.T) {
	const prompt = 900
	for _, tc := range []struct {
		name     string
		attempts []lyumen.Attempt
		want     int64
	}{
		{"still at work", []lyumen.Attempt{{Error: "context canceled", Duration: time.Second}}, prompt},
		{"stream opened", []lyumen.Attempt{{Duration: time.Millisecond}}, prompt},
		{"refused, waiting out a 429", []lyumen.Attempt{{Status: 429, Error: "upstream: rate limited", Duration: time.Millisecond}}, 0},
		{"resting", []lyumen.Attempt{{Error: "circuit open"}}, 0},
		{"never asked", nil, 0},
	} {
		rec := &lyumen.Record{Completeness: lyumen.ClientDisconnected, Attempts: tc.attempts}
		if got := usedTokens(rec, prompt); got != tc.want {
			t.Errorf("%s: charged %d, want %d", tc.name, got, tc.want)
		}
	}
}
