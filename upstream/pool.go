// Package upstream routes a request to the targets of its public model:
// the first attempt shared among weighted targets, then the others in
// order, with retries that honour Retry-After and a circuit breaker per
// target. It only ever falls back before the first byte of an answer.
package upstream

import (
	"context"
	"errors"

	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/lyumen/lyumen"
)

// Options tunes a Pool; zero values take the defaults.
type Options struct {
	Logger *slog.Logger
	// Retries is how many more rounds over the targets follow a round in
	// which every target failed in a way another try may fix. Default 1.
	Retries int
	// Backoff is the wait before the first retry round, doubling after;
	// an upstream's Retry-After, when longer, wins. Default 250ms.
	Backoff time.Duration
	// MaxWait bounds one wait: an upstream asking for longer is not
	// retried, the client gets the error at once. Default 2s.
	MaxWait time.Duration
	// BreakerFailures consecutive failures open a target's breaker for
	// BreakerCooldown; then one trial request may close it. Defaults 5, 30s.
	BreakerFailures int
	BreakerCooldown time.Duration
	// Now and Rand are the clock and the weighted draw; tests replace them.
	Now  func() time.Time
	Rand func(n int) int
}

// Pool is a Provider over the configured providers.
type Pool struct {
	catalog   *lyumen.Catalog
	providers map[string]lyumen.Provider
	o         Options
	logger    *slog.Logger
	breakers  *breakers
}

var _ lyumen.Provider = (*Pool)(nil)

// New returns a pool with default options. A nil logger discards.
func New(catalog *lyumen.Catalog, providers map[string]lyumen.Provider, logger *slog.Logger) *Pool {
	return NewWithOptions(catalog, providers, Options{Logger: logger})
}

// NewWithOptions returns a pool routing by catalog to providers (by name).
func NewWithOptions(catalog *lyumen.Catalog, providers map[string]lyumen.Provider, o Options) *Pool {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Retries < 0 {
		o.Retries = 0
	} else if o.Retries == 0 {
		o.Retries = 1
	}
	if o.Backoff <= 0 {
		o.Backoff = 250 * time.Millisecond
	}
	if o.MaxWait <= 0 {
		o.MaxWait = 2 * time.Second
	}
	if o.BreakerFailures <= 0 {
		o.BreakerFailures = 5
	}
	if o.BreakerCooldown <= 0 {
		o.BreakerCooldown = 30 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.IntN
	}
	return &Pool{catalog: catalog, providers: providers, o: o, logger: o.Logger.With("component", "upstream"),
		breakers: newBreakers(o.BreakerFailures, o.BreakerCooldown)}
}

// Chat completes req on the first target that answers.
func (p *Pool) Chat(ctx context.Context, req *lyumen.Request) (*lyumen.Response, error) {
	return try(ctx, p, req, lyumen.Provider.Chat)
}

// ChatStream opens a stream on the first target that accepts it. Once a
// stream is open it is never spliced with another target's.
func (p *Pool) ChatStream(ctx context.Context, req *lyumen.Request) (lyumen.Stream, error) {
	return try(ctx, p, req, lyumen.Provider.ChatStream)
}

func try[T any](ctx context.Context, p *Pool, req *lyumen.Request, call func(lyumen.Provider, context.Context, *lyumen.Request) (T, error)) (T, error) {
	var zero T
	m, ok := p.catalog.Lookup(req.Model)
	if !ok {
		return zero, lyumen.Errorf(lyumen.KindNotFound, "the model '%s' does not exist", req.Model)
	}
	maxTokens, capped := m.AnswerLimit(req)
	targets := p.order(m.Targets)
	none := error(lyumen.Errorf(lyumen.KindUnavailable, "no upstream is configured for model '%s'", req.Model))
	err := none                  // while it is, no target was asked or rested
	var untranslated error       // a target could not take the request: only another could
	var retryAfter time.Duration // the longest any target of the round asked for
	for round := 0; round <= p.o.Retries; round++ {
		if round > 0 {
			wait := max(p.o.Backoff<<(round-1), retryAfter)
			if wait > p.o.MaxWait {
				break // the upstream wants longer than a client should wait
			}
			if !sleep(ctx, wait) {
				return zero, ctx.Err()
			}
		}
		tried := false
		retryAfter = 0
		for _, t := range targets {
			prov, ok := p.providers[t.Provider]
			if !ok {
				continue // Validate at start refuses this; be safe anyway
			}
			b := p.breakers.get(t)
			ok, trial, rest := b.allow(p.o.Now())
			if !ok {
				p.attempt(req, t, 0, errCircuitOpen)
				if _, isErr := errors.AsType[*lyumen.Error](err); !isErr || lyumen.KindOf(err) == lyumen.KindUnavailable {
					// The client may come back when the first target does.
					if e, ok := err.(*lyumen.Error); ok && err != none && e.RetryAfter < rest {
						rest = e.RetryAfter
					}
					e := lyumen.Errorf(lyumen.KindUnavailable, "every upstream for model '%s' is failing; try again shortly", req.Model)
					e.RetryAfter = rest
					err = e
				}
				continue
			}
			r := *req
			r.Model, r.MaxTokens, r.CappedMaxTokens = t.Model, maxTokens, capped
			start := p.o.Now()
			out, callErr := call(prov, ctx, &r)
			if req.Untranslated != nil && errors.Is(callErr, req.Untranslated) {
				// Refused before any upstream was asked: not an attempt,
				// says nothing of the target's health, and another target
				// may take it.
				if trial {
					b.release()
				}
				untranslated = callErr
				continue
			}
			p.attempt(req, t, p.o.Now().Sub(start), callErr)
			tried, err = true, callErr
			if err == nil {
				b.success()
				return out, nil
			}
			if ctx.Err() != nil {
				if trial {
					b.release() // the client left: this says nothing of the upstream
				}
				return zero, err
			}
			if !retryable(err) {
				switch {
				case lyumen.KindOf(err) == lyumen.KindUpstream:
					b.success() // the upstream answered: it is not down
				case trial:
					// Refused before the upstream was asked (content it
					// cannot take, a body it cannot build): this says
					// nothing of the upstream, so the breaker stays open.
					b.release()
				}
				return zero, err
			}
			b.failure(p.o.Now())
			if e, ok := errors.AsType[*lyumen.Error](err); ok {
				retryAfter = max(retryAfter, e.RetryAfter)
			}
			p.logger.WarnContext(ctx, "upstream failed, trying the next target", "provider", t.Provider, "model", t.Model, "err", err)
		}
		if !tried {
			break
		}
	}
	if untranslated != nil && err == none {
		return zero, untranslated // no target could take it, and none failed or rested
	}
	return zero, err
}

var errCircuitOpen = errors.New("circuit open: this target failed repeatedly and is rested")

// attempt reports one try (or a skipped one) to the request's observer.
func (p *Pool) attempt(req *lyumen.Request, t lyumen.Target, d time.Duration, err error) {
	if req.OnAttempt == nil {
		return
	}
	a := lyumen.Attempt{Provider: t.Provider, Model: t.Model, Duration: d}
	if err != nil {
		a.Error = err.Error()
		if e, ok := errors.AsType[*lyumen.Error](err); ok {
			a.Status = e.Status
		}
	}
	req.OnAttempt(a)
}

// order puts a weighted draw first, then the rest in configured order.
func (p *Pool) order(targets []lyumen.Target) []lyumen.Target {
	total := 0
	for _, t := range targets {
		total += max(t.Weight, 0)
	}
	if total == 0 || len(targets) < 2 {
		return targets
	}
	n := p.o.Rand(total)
	first := 0
	for i, t := range targets {
		if n < max(t.Weight, 0) {
			first = i
			break
		}
		n -= max(t.Weight, 0)
	}
	out := make([]lyumen.Target, 0, len(targets))
	out = append(out, targets[first])
	out = append(out, targets[:first]...)
	return append(out, targets[first+1:]...)
}

// sleep waits d unless ctx ends first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// retryable says another target, or another try, may succeed where this
// one failed: the upstream was unreachable, slow (its own 408 included),
// overloaded, broken, or refused the operator's key or account (401, 403,
// and 402, an account out of credit) — not the request.
func retryable(err error) bool {
	e, ok := errors.AsType[*lyumen.Error](err)
	if !ok {
		return false
	}
	switch e.Kind {
	case lyumen.KindTimeout:
		return true
	case lyumen.KindUpstream:
		return e.Status == 0 || e.Status == http.StatusRequestTimeout || e.Status >= 500 || keyRefused(e.Status)
	}
	return false
}
