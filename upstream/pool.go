// Package upstream routes a request to the targets of its public model, in
// order, falling back to the next target when one fails before answering.
package upstream

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/lyumen/lyumen"
)

// Pool is a Provider over the configured providers.
type Pool struct {
	catalog   *lyumen.Catalog
	providers map[string]lyumen.Provider
	logger    *slog.Logger
	now       func() time.Time
}

var _ lyumen.Provider = (*Pool)(nil)

// New returns a pool routing by catalog to providers (by name). A nil logger
// discards.
func New(catalog *lyumen.Catalog, providers map[string]lyumen.Provider, logger *slog.Logger) *Pool {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Pool{catalog: catalog, providers: providers, logger: logger.With("component", "upstream"), now: time.Now}
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
	err := error(lyumen.Errorf(lyumen.KindUnavailable, "no upstream is configured for model '%s'", req.Model))
	for _, t := range m.Targets {
		prov, ok := p.providers[t.Provider]
		if !ok {
			continue // Validate at start refuses this; be safe anyway
		}
		r := *req
		r.Model = t.Model
		start := p.now()
		var out T
		out, err = call(prov, ctx, &r)
		if req.OnAttempt != nil {
			a := lyumen.Attempt{Provider: t.Provider, Model: t.Model, Duration: p.now().Sub(start)}
			if err != nil {
				a.Error = err.Error()
				if e, ok := errors.AsType[*lyumen.Error](err); ok {
					a.Status = e.Status
				}
			}
			req.OnAttempt(a)
		}
		if err == nil {
			return out, nil
		}
		if ctx.Err() != nil || !retryable(err) {
			return zero, err
		}
		p.logger.WarnContext(ctx, "upstream failed, trying next target", "provider", t.Provider, "model", t.Model, "err", err)
	}
	return zero, err
}

// retryable says another target may succeed where this one failed: the
// upstream was unreachable, slow, overloaded or broken, not the request.
func retryable(err error) bool {
	e, ok := errors.AsType[*lyumen.Error](err)
	if !ok {
		return false
	}
	switch e.Kind {
	case lyumen.KindTimeout:
		return true
	case lyumen.KindUpstream:
		return e.Status == 0 || e.Status == http.StatusTooManyRequests || e.Status >= 500 ||
			e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden
	}
	return false
}
