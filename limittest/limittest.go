// Package limittest is the conformance suite for rate limiters: the
// in-memory ratelimit.Limiter and the Redis-backed redislimit.Limiter must
// give the same answers to the same requests at the same times.
package limittest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen"
)

// Limiter is what httpapi asks of a rate limiter.
type Limiter interface {
	Admit(ctx context.Context, client, model string, tokens int64) (lyumen.Allowance, error)
	Settle(ctx context.Context, client, model string, admitted time.Time, delta int64) error
}

// Limits configures a limiter under test. A zero limit is no limit.
type Limits struct {
	RequestsPerMinute int64
	TokensPerMinute   int64
	DailyTokens       map[string]int64
}

// NewFunc returns a fresh limiter, sharing no state with any other, that
// reads the time from now.
type NewFunc func(t *testing.T, l Limits, now func() time.Time) Limiter

// Start is the suite's clock at the start of each case: noon UTC, twelve
// hours before the daily budgets renew.
var Start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Clock is a settable time source.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock at Start.
func NewClock() *Clock { return &Clock{now: Start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Run runs the suite against the limiters newLimiter returns.
func Run(t *testing.T, newLimiter NewFunc) {
	setup := func(t *testing.T, l Limits) (Limiter, *Clock) {
		t.Helper()
		c := NewClock()
		return newLimiter(t, l, c.Now), c
	}
	admit := func(t *testing.T, l Limiter, client, model string, tokens int64) (lyumen.Allowance, lyumen.Kind, bool) {
		t.Helper()
		a, err := l.Admit(t.Context(), client, model, tokens)
		if err == nil {
			return a, 0, true
		}
		if _, ok := err.(*lyumen.Error); !ok {
			t.Fatalf("Admit: %v (not a *lyumen.Error)", err)
		}
		return a, lyumen.KindOf(err), false
	}
	settle := func(t *testing.T, l Limiter, client, model string, admitted time.Time, delta int64) {
		t.Helper()
		if err := l.Settle(t.Context(), client, model, admitted, delta); err != nil {
			t.Fatalf("Settle: %v", err)
		}
	}

	t.Run("a minute of requests at once, then 429", func(t *testing.T) {
		l, _ := setup(t, Limits{RequestsPerMinute: 5})
		for i := range 5 {
			a, _, ok := admit(t, l, "a", "m", 0)
			if !ok {
				t.Fatalf("request %d refused", i+1)
			}
			want := lyumen.Quota{Limit: 5, Remaining: int64(4 - i), Reset: time.Duration(i+1) * 12 * time.Second}
			if diff := cmp.Diff(want, a.Requests); diff != "" {
				t.Errorf("request %d: quota (-want +got):\n%s", i+1, diff)
			}
		}
		a, kind, ok := admit(t, l, "a", "m", 0)
		if ok || kind != lyumen.KindRateLimited {
			t.Fatalf("sixth request: admitted %t, kind %v; want KindRateLimited", ok, kind)
		}
		want := lyumen.Allowance{Requests: lyumen.Quota{Limit: 5, Remaining: 0, Reset: time.Minute}, RetryAfter: 12 * time.Second}
		if diff := cmp.Diff(want, a); diff != "" {
			t.Errorf("refusal (-want +got):\n%s", diff)
		}
	})

	t.Run("requests refill evenly over the minute", func(t *testing.T) {
		l, clock := setup(t, Limits{RequestsPerMinute: 5})
		for range 5 {
			admit(t, l, "a", "m", 0)
		}
		clock.Advance(11 * time.Second)
		if _, _, ok := admit(t, l, "a", "m", 0); ok {
			t.Fatal("admitted after 11 s: one request takes 12 s to refill")
		}
		clock.Advance(time.Second)
		if _, _, ok := admit(t, l, "a", "m", 0); !ok {
			t.Fatal("refused after 12 s")
		}
		if _, _, ok := admit(t, l, "a", "m", 0); ok {
			t.Fatal("admitted twice after 12 s")
		}
		clock.Advance(time.Hour) // a full bucket holds a minute's worth, no more
		for i := range 6 {
			_, _, ok := admit(t, l, "a", "m", 0)
			if ok != (i < 5) {
				t.Fatalf("after an hour, request %d admitted %t", i+1, ok)
			}
		}
	})

	t.Run("tokens: the estimate is charged and settled", func(t *testing.T) {
		l, _ := setup(t, Limits{TokensPerMinute: 1000})
		a, _, ok := admit(t, l, "a", "m", 600)
		if !ok {
			t.Fatal("600 of 1000 tokens refused")
		}
		if diff := cmp.Diff(lyumen.Quota{Limit: 1000, Remaining: 400, Reset: 36 * time.Second}, a.Tokens); diff != "" {
			t.Errorf("tokens quota (-want +got):\n%s", diff)
		}
		if a.Requests != (lyumen.Quota{}) {
			t.Errorf("requests quota %+v with no request limit", a.Requests)
		}
		a, kind, ok := admit(t, l, "a", "m", 600)
		if ok || kind != lyumen.KindRateLimited {
			t.Fatalf("600 more tokens: admitted %t, kind %v", ok, kind)
		}
		if a.RetryAfter != 12*time.Second {
			t.Errorf("retry after %v, want 12s (200 tokens at 1000/min)", a.RetryAfter)
		}
		settle(t, l, "a", "m", Start, -500) // the answer was smaller than estimated
		if _, _, ok := admit(t, l, "a", "m", 600); !ok {
			t.Fatal("refused after a refund of 500 tokens")
		}
	})

	t.Run("usage beyond the estimate is debt", func(t *testing.T) {
		l, clock := setup(t, Limits{TokensPerMinute: 1000})
		admit(t, l, "a", "m", 100)
		settle(t, l, "a", "m", Start, 1900) // 2000 used in all: 1000 in debt
		a, kind, ok := admit(t, l, "a", "m", 1)
		if ok || kind != lyumen.KindRateLimited {
			t.Fatalf("admitted %t, kind %v; want a refusal while in debt", ok, kind)
		}
		want := lyumen.Allowance{Tokens: lyumen.Quota{Limit: 1000, Remaining: 0, Reset: 2 * time.Minute}, RetryAfter: 60060 * time.Millisecond}
		if diff := cmp.Diff(want, a); diff != "" {
			t.Errorf("refusal (-want +got):\n%s", diff)
		}
		clock.Advance(61 * time.Second)
		if _, _, ok := admit(t, l, "a", "m", 1); !ok {
			t.Fatal("refused once the debt was repaid")
		}
	})

	t.Run("a refund never fills the bucket past its limit", func(t *testing.T) {
		for _, rpm := range []int64{0, 10} { // with a request limit, the client's state outlives the refund
			l, _ := setup(t, Limits{RequestsPerMinute: rpm, TokensPerMinute: 1000})
			admit(t, l, "a", "m", 100)
			settle(t, l, "a", "m", Start, -5000)
			a, _, _ := admit(t, l, "a", "m", 0)
			if a.Tokens.Remaining != 1000 {
				t.Errorf("requests per minute %d: remaining %d after a large refund, want 1000", rpm, a.Tokens.Remaining)
			}
		}
	})

	t.Run("a refund never takes a budget below zero", func(t *testing.T) {
		l, _ := setup(t, Limits{DailyTokens: map[string]int64{"m": 1000}})
		admit(t, l, "a", "m", 100)
		settle(t, l, "a", "m", Start, -5000) // more than was charged
		if _, _, ok := admit(t, l, "b", "m", 1001); ok {
			t.Fatal("admitted 1001 tokens on a budget of 1000: the refund went below zero")
		}
		if _, _, ok := admit(t, l, "b", "m", 1000); !ok {
			t.Fatal("refused the whole budget after a refund")
		}
	})

	t.Run("an estimate above a minute of tokens is too large", func(t *testing.T) {
		l, _ := setup(t, Limits{TokensPerMinute: 1000})
		if _, kind, ok := admit(t, l, "a", "m", 1001); ok || kind != lyumen.KindTooLarge {
			t.Fatalf("admitted %t, kind %v; want KindTooLarge", ok, kind)
		}
		if _, _, ok := admit(t, l, "a", "m", 1000); !ok {
			t.Fatal("a minute's worth refused")
		}
	})

	t.Run("clients are independent", func(t *testing.T) {
		l, _ := setup(t, Limits{RequestsPerMinute: 1, TokensPerMinute: 100})
		for _, step := range []struct {
			client string
			ok     bool
		}{{"a", true}, {"a", false}, {"b", true}, {"b", false}, {"2001:db8::/64", true}} {
			if _, _, ok := admit(t, l, step.client, "m", 10); ok != step.ok {
				t.Fatalf("client %q admitted %t, want %t", step.client, ok, step.ok)
			}
		}
	})

	t.Run("a refused request costs nothing", func(t *testing.T) {
		l, _ := setup(t, Limits{RequestsPerMinute: 2, TokensPerMinute: 100})
		admit(t, l, "a", "m", 50)
		if _, _, ok := admit(t, l, "a", "m", 80); ok {
			t.Fatal("80 tokens admitted with 50 left")
		}
		a, _, ok := admit(t, l, "a", "m", 40)
		if !ok {
			t.Fatal("the refused request used up the client's second request")
		}
		if a.Requests.Remaining != 0 || a.Tokens.Remaining != 10 {
			t.Errorf("remaining %d requests and %d tokens, want 0 and 10", a.Requests.Remaining, a.Tokens.Remaining)
		}
	})

	t.Run("the daily budget of a model", func(t *testing.T) {
		l, clock := setup(t, Limits{RequestsPerMinute: 100, DailyTokens: map[string]int64{"m": 1000}})
		if _, _, ok := admit(t, l, "a", "m", 600); !ok {
			t.Fatal("600 of a 1000 budget refused")
		}
		a, kind, ok := admit(t, l, "b", "m", 600) // another client: the budget is the model's
		if ok || kind != lyumen.KindUnavailable {
			t.Fatalf("admitted %t, kind %v; want KindUnavailable", ok, kind)
		}
		if a.RetryAfter != 12*time.Hour {
			t.Errorf("retry after %v, want 12h (until 00:00 UTC)", a.RetryAfter)
		}
		if _, _, ok := admit(t, l, "b", "other", 600); !ok {
			t.Fatal("a model without a budget was refused")
		}
		settle(t, l, "a", "m", Start, -300) // the first request used 300
		if _, _, ok := admit(t, l, "b", "m", 600); !ok {
			t.Fatal("refused with 700 of the budget left")
		}
		if _, _, ok := admit(t, l, "b", "m", 200); ok {
			t.Fatal("admitted beyond the budget")
		}
		clock.Advance(12 * time.Hour) // 00:00 UTC
		if _, _, ok := admit(t, l, "b", "m", 900); !ok {
			t.Fatal("the budget did not renew at midnight")
		}
	})

	t.Run("an exchange admitted before midnight settles with its own day", func(t *testing.T) {
		l, clock := setup(t, Limits{DailyTokens: map[string]int64{"m": 20000}})
		clock.Advance(12*time.Hour - time.Second) // 23:59:59 UTC
		admitted := clock.Now()
		if _, _, ok := admit(t, l, "a", "m", 10000); !ok {
			t.Fatal("10000 of a 20000 budget refused")
		}
		clock.Advance(2 * time.Second) // the next day
		if _, _, ok := admit(t, l, "b", "m", 15000); !ok {
			t.Fatal("15000 of a new day's 20000 refused")
		}
		settle(t, l, "a", "m", admitted, -9900) // yesterday's request used 100
		if _, _, ok := admit(t, l, "b", "m", 14000); ok {
			t.Fatal("admitted 14000 with 5000 of the day's budget left: yesterday's refund went to today")
		}
		if _, _, ok := admit(t, l, "b", "m", 5000); !ok {
			t.Fatal("refused 5000 with 5000 of the day's budget left")
		}
	})

	t.Run("a debt settled after midnight is the client's still", func(t *testing.T) {
		l, clock := setup(t, Limits{TokensPerMinute: 1000})
		clock.Advance(12*time.Hour - time.Second) // 23:59:59 UTC
		admitted := clock.Now()
		admit(t, l, "a", "m", 100)
		clock.Advance(2 * time.Second)
		settle(t, l, "a", "m", admitted, 1900) // 2000 used in all: 1000 in debt
		if _, _, ok := admit(t, l, "a", "m", 1); ok {
			t.Fatal("admitted while 1000 tokens in debt")
		}
	})

	t.Run("no limits", func(t *testing.T) {
		l, _ := setup(t, Limits{})
		for i := range 200 {
			a, _, ok := admit(t, l, "a", "m", 1<<20)
			if !ok {
				t.Fatalf("request %d refused with no limits", i)
			}
			if a != (lyumen.Allowance{}) {
				t.Fatalf("allowance %+v with no limits", a)
			}
		}
	})

	t.Run("concurrent requests share one budget", func(t *testing.T) {
		l, _ := setup(t, Limits{RequestsPerMinute: 50, TokensPerMinute: 1 << 20})
		var admitted atomic.Int64
		var wg sync.WaitGroup
		for range 200 {
			wg.Go(func() {
				if _, err := l.Admit(t.Context(), "a", "m", 10); err == nil {
					admitted.Add(1)
				}
			})
		}
		wg.Wait()
		if n := admitted.Load(); n != 50 {
			t.Errorf("%d of 200 concurrent requests admitted, want exactly 50", n)
		}
	})
}
