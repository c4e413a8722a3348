// Package upstream routes a request to the targets of its public model:
// the first attempt shared among weighted targets, then the others in
// order, with retries that honour Retry-After and a circuit breaker per
// target. It only ever falls back before an answer began: before a
// stream's first content (see fallback).
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

// ChatStream opens a stream on the first target that accepts it. Until
// the stream's first event with content it may still move on to the next
// target (see fallback); after that it is never spliced with another
// target's.
func (p *Pool) ChatStream(ctx context.Context, req *lyumen.Request) (lyumen.Stream, error) {
	r := newRoute(p, req, lyumen.Provider.ChatStream)
	s, at, err := r.run(ctx)
	if err != nil {
		return nil, err
	}
	return newFallback(ctx, r, s, at), nil
}

// try routes req to the first target that answers.
func try[T any](ctx context.Context, p *Pool, req *lyumen.Request, call func(lyumen.Provider, context.Context, *lyumen.Request) (T, error)) (T, error) {
	out, at, err := newRoute(p, req, call).run(ctx)
	if err == nil {
		p.served(req, at)
	}
	return out, err
}

// route is one request's way through its model's targets: where it is,
// and what the targets asked so far said. run goes on from where it
// stopped, so that a stream failing before its first content moves on to
// the targets after the one that opened it.
type route[T any] struct {
	p    *Pool
	req  *lyumen.Request
	call func(lyumen.Provider, context.Context, *lyumen.Request) (T, error)

	found     bool // the model is in the catalogue
	targets   []lyumen.Target
	maxTokens int
	capped    bool

	round, next  int           // the round, and its next target
	tried        bool          // a target of this round failed in a way a retry may fix
	err          error         // nil while no target was asked or rested
	untranslated error         // a target could not take the request: only another could
	retryAfter   time.Duration // the longest any target of the round asked for
	waitErr      error         // the error that asked for it: the client's, if it is too long to keep them
}

func newRoute[T any](p *Pool, req *lyumen.Request, call func(lyumen.Provider, context.Context, *lyumen.Request) (T, error)) *route[T] {
	r := &route[T]{p: p, req: req, call: call}
	m, ok := p.catalog.Lookup(req.Model)
	if ok {
		r.found, r.targets = true, p.order(m.Targets)
		r.maxTokens, r.capped = m.AnswerLimit(req)
	}
	return r
}

// asked is a target that took the request, and what settling its outcome
// needs.
type asked struct {
	t     lyumen.Target
	b     *breaker
	trial uint64 // the breaker's half-open trial this is, or 0
	start time.Time
}

// run asks the targets in turn, from where the route stopped, until one
// takes the request. The caller settles that one's outcome: served, or
// failed, after which, if failed says another target may do better, run
// may be called again.
func (r *route[T]) run(ctx context.Context) (T, asked, error) {
	var zero T
	p, req := r.p, r.req
	if !r.found {
		return zero, asked{}, lyumen.Errorf(lyumen.KindNotFound, "the model '%s' does not exist", lyumen.Clip(req.Model))
	}
	for r.round <= p.o.Retries {
		if r.round > 0 && r.next == 0 {
			wait := max(p.o.Backoff<<(r.round-1), r.retryAfter)
			if wait > p.o.MaxWait {
				// The upstream wants longer than a client should wait: the
				// client hears that wait, whichever target failed last.
				if r.waitErr != nil {
					r.err = r.waitErr
				}
				break
			}
			if !sleep(ctx, wait) {
				return zero, asked{}, ctx.Err()
			}
			r.retryAfter, r.waitErr = 0, nil
		}
		for r.next < len(r.targets) {
			t := r.targets[r.next]
			r.next++
			prov, ok := p.providers[t.Provider]
			if !ok {
				continue // Validate at start refuses this; be safe anyway
			}
			b := p.breakers.get(t)
			ok, trial, rest := b.allow(p.o.Now())
			if !ok {
				p.attempt(req, t, 0, errCircuitOpen)
				if prev, isErr := errors.AsType[*lyumen.Error](r.err); !isErr || prev.Kind == lyumen.KindUnavailable || missing(r.err) {
					// The client may come back when the first target does
					// (a target that lacks the model never will).
					if isErr && prev.Kind == lyumen.KindUnavailable && prev.RetryAfter < rest {
						rest = prev.RetryAfter
					}
					e := lyumen.Errorf(lyumen.KindUnavailable, "every upstream for model '%s' is failing; try again shortly", lyumen.Clip(req.Model))
					e.RetryAfter = rest
					r.err = e
				}
				continue
			}
			tr := *req
			tr.Model, tr.MaxTokens, tr.CappedMaxTokens = t.Model, r.maxTokens, r.capped
			at := asked{t: t, b: b, trial: trial, start: p.o.Now()}
			out, err := r.call(prov, ctx, &tr)
			if req.Untranslated != nil && errors.Is(err, req.Untranslated) || elsewhere(err) {
				// Refused before any upstream was asked, for what this
				// target's provider cannot take: not an attempt, says
				// nothing of the target's health, and another target may
				// take it.
				if trial != 0 {
					b.release(trial)
				}
				r.untranslated = err
				continue
			}
			if err == nil {
				return out, at, nil
			}
			if !r.failed(ctx, at, err) {
				return zero, asked{}, err
			}
		}
		if !r.tried {
			break
		}
		r.round, r.next, r.tried = r.round+1, 0, false
	}
	switch {
	case r.err != nil:
		return zero, asked{}, r.err
	case r.untranslated != nil:
		return zero, asked{}, r.untranslated // no target could take it, and none failed or rested
	}
	return zero, asked{}, lyumen.Errorf(lyumen.KindUnavailable, "no upstream is configured for model '%s'", lyumen.Clip(req.Model))
}

// failed settles a target that failed, and says whether another target,
// or another round, may do better.
func (r *route[T]) failed(ctx context.Context, at asked, err error) bool {
	p := r.p
	p.attempt(r.req, at.t, p.o.Now().Sub(at.start), err)
	if !missing(err) || r.err == nil || missing(r.err) {
		// A target that lacks the model does not hide another's failure
		// or rest: the client hears a 404 only when no target has it.
		r.err = err
	}
	if ctx.Err() != nil {
		if at.trial != 0 {
			at.b.release(at.trial) // the client left: this says nothing of the upstream
		}
		return false
	}
	if !retryable(err) {
		switch {
		case missing(err):
			// The target's model is not there (retired, misspelt in the
			// configuration): another target may have it, this one will
			// not on a retry. The upstream answered, so it is not down;
			// nor is it rested, lest a client's request that it finds
			// nothing for take the target away from everyone.
			at.b.success()
			p.logger.WarnContext(ctx, "upstream has no such model, trying the next target", "provider", at.t.Provider, "model", at.t.Model, "err", err)
			return true
		case lyumen.KindOf(err) == lyumen.KindUpstream:
			at.b.success() // the upstream answered: it is not down
		case at.trial != 0:
			// Refused before the upstream was asked (content it cannot
			// take, a body it cannot build): this says nothing of the
			// upstream, so the breaker stays open.
			at.b.release(at.trial)
		}
		return false
	}
	r.tried = true
	at.b.failure(p.o.Now())
	if e, ok := errors.AsType[*lyumen.Error](err); ok && e.RetryAfter > r.retryAfter {
		r.retryAfter, r.waitErr = e.RetryAfter, err
	}
	p.logger.WarnContext(ctx, "upstream failed, trying the next target", "provider", at.t.Provider, "model", at.t.Model, "err", err)
	return true
}

// served settles a target that answered.
func (p *Pool) served(req *lyumen.Request, at asked) {
	p.attempt(req, at.t, p.o.Now().Sub(at.start), nil)
	at.b.success()
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

// MaxWeight bounds a target's weight: the weights' sum must not overflow.
const MaxWeight = 1_000_000

// weight is t's weight for the draw: none below 0, at most MaxWeight.
func weight(t lyumen.Target) int { return min(max(t.Weight, 0), MaxWeight) }

// order puts a weighted draw first, then the rest in configured order.
func (p *Pool) order(targets []lyumen.Target) []lyumen.Target {
	total := 0
	for _, t := range targets {
		total += weight(t)
	}
	if total == 0 || len(targets) < 2 {
		return targets
	}
	n := p.o.Rand(total)
	first := 0
	for i, t := range targets {
		if n < weight(t) {
			first = i
			break
		}
		n -= weight(t)
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

// elsewhere says a provider refused what another may take.
func elsewhere(err error) bool {
	e, ok := errors.AsType[*lyumen.Error](err)
	return ok && e.Elsewhere
}

// missing says the upstream has no such model or route: its 404.
func missing(err error) bool {
	e, ok := errors.AsType[*lyumen.Error](err)
	return ok && e.Kind == lyumen.KindUpstream && e.Status == http.StatusNotFound
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
