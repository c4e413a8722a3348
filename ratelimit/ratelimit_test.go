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
