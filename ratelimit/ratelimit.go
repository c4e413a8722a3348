// Package ratelimit keeps the gateway's per-client rate limits (requests
// and tokens per minute, as token buckets) and its per-model daily token
// budgets in memory, for a single gateway process. Package redislimit keeps
// the same limits in Redis, shared by every instance.
//
// A client is a key the caller derives from its address. The key lives
// only in this process's memory, only while its buckets are not full, and
// is never logged.
package ratelimit

import (
	"context"
	"sync"
	"time"

	"github.com/lyumen/lyumen"
)

// Window is the period the per-minute limits are expressed in: a bucket
// holds at most one window's worth and refills at that rate.
const Window = lyumen.LimitWindow

// windowMS is Window in milliseconds, for the bucket arithmetic, which is
// done as lyumen.BucketQuota does it.
const windowMS = lyumen.LimitWindowMS

// DefaultMaxClients bounds the clients tracked at once unless configured.
const DefaultMaxClients = 250_000

// Options are the limits. A zero limit is no limit.
type Options struct {
	// RequestsPerMinute and TokensPerMinute are each client's buckets: a
	// client may spend a whole minute's worth at once, and the bucket
	// refills evenly over the minute.
	RequestsPerMinute int64
	TokensPerMinute   int64
	// DailyTokens is each model's token budget per UTC day, shared by all
	// clients; a model not listed has none.
	DailyTokens map[string]int64
	// MaxClients bounds the memory the buckets take: when that many clients
	// are tracked and none of them can be forgotten, a new client is
	// refused with a 503 until one can.
	MaxClients int
	Now        func() time.Time
}

// Limiter enforces Options in memory. It is safe for concurrent use.
type Limiter struct {
	rcap, tcap float64
	daily      map[string]int64
	maxClients int
	now        func() time.Time

	mu      sync.Mutex
	clients map[string]*bucket
	budgets map[string]*budget
}

// bucket is one client's two token buckets.
type bucket struct {
	req, tok float64
	at       time.Time // when the levels were computed
	full     time.Time // when both are full again: the client can be forgotten
}

type budget struct {
	day  string // UTC date the count is for
	used int64
}

// New returns a Limiter. Call Run to forget idle clients.
func New(o Options) *Limiter {
	l := &Limiter{
		rcap: float64(max(o.RequestsPerMinute, 0)), tcap: float64(max(o.TokensPerMinute, 0)),
		daily: o.DailyTokens, maxClients: o.MaxClients, now: o.Now,
		clients: map[string]*bucket{}, budgets: map[string]*budget{},
	}
	if l.maxClients <= 0 {
		l.maxClients = DefaultMaxClients
	}
	if l.now == nil {
		l.now = time.Now
	}
	return l
}

// Admit charges one request and an estimate of its tokens to client and to
// model. A refusal is a *lyumen.Error: KindTooLarge when the estimate alone
// exceeds the client's tokens per minute, KindUnavailable when the model's
// daily budget is spent, KindRateLimited when the client must wait; the
// Allowance says how long.
func (l *Limiter) Admit(ctx context.Context, client, model string, tokens int64) (lyumen.Allowance, error) {
	tokens = max(tokens, 0)
	if l.tcap > 0 && float64(tokens) > l.tcap {
		return lyumen.Allowance{}, lyumen.TooManyTokens(tokens, int64(l.tcap))
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	var bud *budget
	if limit := l.daily[model]; limit > 0 {
		bud = l.budget(model, now)
		if bud.used+tokens > limit {
			return lyumen.Allowance{RetryAfter: lyumen.UntilBudgetRenewal(now)}, lyumen.BudgetSpent(model)
		}
	}
	var a lyumen.Allowance
	if l.rcap > 0 || l.tcap > 0 {
		b := l.clients[client]
		if b == nil {
			if len(l.clients) >= l.maxClients {
				l.sweep(now)
			}
			if len(l.clients) >= l.maxClients {
				return lyumen.Allowance{RetryAfter: time.Second}, &lyumen.Error{Kind: lyumen.KindUnavailable,
					Message: "the service is tracking too many clients right now; try again shortly"}
			}
			b = &bucket{req: l.rcap, tok: l.tcap, at: now}
		}
		l.refill(b, now)
		retry := lyumen.BucketWait(l.rcap, b.req, 1)
		retry = max(retry, lyumen.BucketWait(l.tcap, b.tok, float64(tokens)))
		if retry > 0 {
			a = lyumen.Allowance{Requests: lyumen.BucketQuota(l.rcap, b.req), Tokens: lyumen.BucketQuota(l.tcap, b.tok), RetryAfter: retry}
			return a, lyumen.RateLimited(a)
		}
		if l.rcap > 0 {
			b.req--
		}
		if l.tcap > 0 {
			b.tok -= float64(tokens)
		}
		b.full = now.Add(max(lyumen.BucketRefill(l.rcap, b.req), lyumen.BucketRefill(l.tcap, b.tok)))
		l.clients[client] = b
		a = lyumen.Allowance{Requests: lyumen.BucketQuota(l.rcap, b.req), Tokens: lyumen.BucketQuota(l.tcap, b.tok)}
	}
	if bud != nil {
		bud.used += tokens
	}
	return a, nil
}

// Settle charges delta more tokens to client and model once the actual
// usage is known; a negative delta refunds an overestimate. The model's
// budget is that of the day of admitted; a day that has ended is left
// alone. A client's bucket may go below zero: it then waits longer.
func (l *Limiter) Settle(ctx context.Context, client, model string, admitted time.Time, delta int64) error {
	if delta == 0 {
		return nil
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if bud := l.budgets[model]; l.daily[model] > 0 && bud != nil && bud.day == admitted.UTC().Format(time.DateOnly) {
		bud.used = max(bud.used+delta, 0)
	}
	if l.tcap == 0 {
		return nil
	}
	b := l.clients[client]
	if b == nil {
		if delta < 0 {
			return nil // forgotten: the bucket is full already
		}
		b = &bucket{req: l.rcap, tok: l.tcap, at: now}
	}
	l.refill(b, now)
	b.tok = min(b.tok-float64(delta), l.tcap)
	b.full = now.Add(max(lyumen.BucketRefill(l.rcap, b.req), lyumen.BucketRefill(l.tcap, b.tok)))
	l.clients[client] = b
	return nil
}

// Len is the number of clients tracked now.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}

// Run forgets, once a minute, the clients whose buckets are full again,
// until ctx ends.
func (l *Limiter) Run(ctx context.Context) error {
	t := time.NewTicker(Window)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			l.mu.Lock()
			l.sweep(l.now())
			l.mu.Unlock()
		}
	}
}

func (l *Limiter) sweep(now time.Time) {
	for k, b := range l.clients {
		if !now.Before(b.full) {
			delete(l.clients, k)
		}
	}
}

func (l *Limiter) refill(b *bucket, now time.Time) {
	el := now.Sub(b.at)
	if el <= 0 {
		return
	}
	b.at = now
	ms := float64(el) / float64(time.Millisecond)
	b.req = min(l.rcap, b.req+ms*l.rcap/windowMS)
	b.tok = min(l.tcap, b.tok+ms*l.tcap/windowMS)
}

func (l *Limiter) budget(model string, now time.Time) *budget {
	day := now.UTC().Format(time.DateOnly)
	b := l.budgets[model]
	if b == nil {
		b = &budget{}
		l.budgets[model] = b
	}
	if b.day != day {
		b.day, b.used = day, 0
	}
	return b
}
