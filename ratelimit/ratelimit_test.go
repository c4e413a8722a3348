package ratelimit_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/limittest"
	"github.com/lyumen/lyumen/ratelimit"
)

func TestLimiter(t *testing.T) {
	limittest.Run(t, func(t *testing.T, l limittest.Limits, now func() time.Time) limittest.Limiter {
		return ratelimit.New(ratelimit.Options{
			RequestsPerMinute: l.RequestsPerMinute, TokensPerMinute: l.TokensPerMinute,
			DailyTokens: l.DailyTokens, Now: now,
		})
	})
}

// TestLimiter_ForgetsIdleClients: a client whose buckets are full again is
// forgotten at the next sweep, so the addresses of past clients do not stay
// in memory.
func TestLimiter_ForgetsIdleClients(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := ratelimit.New(ratelimit.Options{RequestsPerMinute: 60})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- l.Run(ctx) }()

		for _, c := range []string{"a", "b", "c"} {
			if _, err := l.Admit(ctx, c, "m", 0); err != nil {
				t.Fatal(err)
			}
		}
		if n := l.Len(); n != 3 {
			t.Fatalf("tracking %d clients, want 3", n)
		}
		time.Sleep(30 * time.Second)
		for range 40 { // a's bucket is full again at 70 s
			if _, err := l.Admit(ctx, "a", "m", 0); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(31 * time.Second) // the sweep at 60 s: b and c are full again
		synctest.Wait()
		if n := l.Len(); n != 1 {
			t.Errorf("tracking %d clients after the first sweep, want 1", n)
		}
		time.Sleep(60 * time.Second)
		synctest.Wait()
		if n := l.Len(); n != 0 {
			t.Errorf("tracking %d clients after the second sweep, want 0", n)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

// TestLimiter_MaxClients: memory stays bounded when more distinct clients
// arrive than it may track; a client is admitted again as soon as an old
// one can be forgotten.
func TestLimiter_MaxClients(t *testing.T) {
	clock := limittest.NewClock()
	l := ratelimit.New(ratelimit.Options{RequestsPerMinute: 60, MaxClients: 2, Now: clock.Now})
	ctx := t.Context()
	for _, c := range []string{"a", "b"} {
		if _, err := l.Admit(ctx, c, "m", 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Admit(ctx, "a", "m", 0); err != nil {
		t.Fatalf("a known client refused: %v", err)
	}
	_, err := l.Admit(ctx, "c", "m", 0)
	if lyumen.KindOf(err) != lyumen.KindUnavailable {
		t.Fatalf("a third client: %v, want KindUnavailable", err)
	}
	clock.Advance(1500 * time.Millisecond) // b is full again and can be forgotten, a not yet
	if _, err := l.Admit(ctx, "c", "m", 0); err != nil {
		t.Fatalf("a third client once b could be forgotten: %v", err)
	}
	if n := l.Len(); n != 2 {
		t.Errorf("tracking %d clients, want 2", n)
	}
}

func BenchmarkLimiter_Admit(b *testing.B) {
	l := ratelimit.New(ratelimit.Options{RequestsPerMinute: 1 << 40, TokensPerMinute: 1 << 40, DailyTokens: map[string]int64{"m": 1 << 60}})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Admit(ctx, "203.0.113.9", "m", 100); err != nil {
			b.Fatal(err)
		}
	}
}

// TestLimiter_RemembersDebt: a client is forgotten only once both its
// buckets are full again, not when its requests are: one that still owes
// tokens (an estimate charged, or usage settled beyond it) would otherwise
// be given a full bucket at the next sweep.
func TestLimiter_RemembersDebt(t *testing.T) {
	for _, tc := range []struct {
		name     string
		estimate int64 // charged at Admit
		settled  int64 // and then by Settle
	}{
		{"an estimate charged", 900, 0},
		{"usage settled beyond the estimate", 1, 1899},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := limittest.NewClock()
			l := ratelimit.New(ratelimit.Options{RequestsPerMinute: 60, TokensPerMinute: 1000, MaxClients: 1, Now: clock.Now})
			ctx := t.Context()
			if _, err := l.Admit(ctx, "a", "m", tc.estimate); err != nil {
				t.Fatal(err)
			}
			if err := l.Settle(ctx, "a", "m", limittest.Start, tc.settled); err != nil {
				t.Fatal(err)
			}
			clock.Advance(2 * time.Second) // a's requests are full again, its tokens not
			if _, err := l.Admit(ctx, "b", "m", 0); lyumen.KindOf(err) != lyumen.KindUnavailable {
				t.Errorf("a second client while a owes tokens: %v, want KindUnavailable (a not forgotten)", err)
			}
			if _, err := l.Admit(ctx, "a", "m", 900); lyumen.KindOf(err) != lyumen.KindRateLimited {
				t.Errorf("900 more tokens from a, 2 s after it spent 900: %v, want KindRateLimited", err)
			}
		})
	}
}
