package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/ratelimit"
	"github.com/lyumen/lyumen/redislimit"
)

// severableLimiter is Redis that can be made unreachable.
type severableLimiter struct {
	*redislimit.Limiter
	down atomic.Bool
}

var errSeveredDown = fmt.Errorf("redis: %w", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")})

func (s *severableLimiter) Admit(ctx context.Context, client, model string, tokens int64) (lyumen.Allowance, error) {
	if s.down.Load() {
		return lyumen.Allowance{}, errSeveredDown
	}
	return s.Limiter.Admit(ctx, client, model, tokens)
}

func (s *severableLimiter) Settle(ctx context.Context, client, model string, admitted time.Time, delta int64) error {
	if s.down.Load() {
		return errSeveredDown
	}
	return s.Limiter.Settle(ctx, client, model, admitted, delta)
}

// TestFallbackLimiter_RedisBudgetNotRefundedForMemory: an exchange admitted
// in memory while Redis was away, and settled once Redis is back, settles
// in memory. Its refund (the unused max_tokens, the usual case) came off
// the shared daily budget in Redis, which never charged it, and the shared
// budget counted less than the other exchanges used.
func TestFallbackLimiter_RedisBudgetNotRefundedForMemory(t *testing.T) {
	url, prefix, rdb := testRedis(t)
	daily := map[string]int64{"m": 1_000_000}
	rl, err := redislimit.Open(t.Context(), url, redislimit.Options{DailyTokens: daily, Secret: []byte("review-secret-0123456789"), Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	defer rl.Close()
	primary := &severableLimiter{Limiter: rl}
	f := &fallbackLimiter{primary: primary, fallback: ratelimit.New(ratelimit.Options{DailyTokens: daily}),
		logger: slog.New(slog.DiscardHandler), fallbacks: prometheus.NewCounter(prometheus.CounterOpts{Name: "fallbacks"})}
	ctx := t.Context()
	budgetKey := prefix + "budget:" + time.Now().UTC().Format(time.DateOnly) + ":m"

	// Another client's exchange, through Redis: 40,000 tokens really used.
	if _, err := f.Admit(ctx, "198.51.100.1", "m", 40_000); err != nil {
		t.Fatal(err)
	}
	// Redis goes away; this exchange is admitted in memory, with an
	// estimate of 17,000 (a short prompt and max_tokens 16,384).
	primary.down.Store(true)
	admitted := time.Now()
	if _, err := f.Admit(ctx, "203.0.113.7", "m", 17_000); err != nil {
		t.Fatal(err)
	}
	// Redis is back (the 5 s rest is over) before the exchange ends; it
	// used 600 tokens, and settles a refund of 16,400.
	primary.down.Store(false)
	f.downUntil.Store(0)
	if err := f.Settle(ctx, "203.0.113.7", "m", admitted, 600-17_000); err != nil {
		t.Fatal(err)
	}
	used, err := rdb.Get(ctx, budgetKey).Int64()
	if err != nil {
		t.Fatal(err)
	}
	if used < 40_000 {
		t.Errorf("the shared daily budget in Redis counts %d tokens used, after 40,000 charged there: a refund for an exchange Redis never admitted was taken off it", used)
	}
}
