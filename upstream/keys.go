package upstream

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"

	"github.com/lyumen/lyumen"
)

// Keys is one provider reached with several API keys, used in turn so that
// their rate limits add up. A key the upstream throttles or refuses (429,
// 401, 402, 403) hands the same request to the next key at once.
type Keys struct {
	clients []lyumen.Provider // one per key
	next    atomic.Uint64
}

var _ lyumen.Provider = (*Keys)(nil)

// NewKeys rotates over clients, one per key; it needs at least one.
func NewKeys(clients []lyumen.Provider) *Keys {
	if len(clients) == 0 {
		panic("upstream.NewKeys: no clients") // a programmer error at start
	}
	return &Keys{clients: clients}
}

// Chat completes req with the next key.
func (k *Keys) Chat(ctx context.Context, req *lyumen.Request) (*lyumen.Response, error) {
	return rotate(ctx, k, req, lyumen.Provider.Chat)
}

// ChatStream opens a stream with the next key.
func (k *Keys) ChatStream(ctx context.Context, req *lyumen.Request) (lyumen.Stream, error) {
	return rotate(ctx, k, req, lyumen.Provider.ChatStream)
}

func rotate[T any](ctx context.Context, k *Keys, req *lyumen.Request, call func(lyumen.Provider, context.Context, *lyumen.Request) (T, error)) (T, error) {
	start := k.next.Add(1) - 1
	var (
		out T
		err error
	)
	for i := range len(k.clients) {
		out, err = call(k.clients[(start+uint64(i))%uint64(len(k.clients))], ctx, req)
		if err == nil || ctx.Err() != nil || !keyProblem(err) {
			return out, err
		}
	}
	return out, err
}

// keyProblem says the failure belongs to the key, not the upstream.
func keyProblem(err error) bool {
	e, ok := errors.AsType[*lyumen.Error](err)
	return ok && e.Kind == lyumen.KindUpstream && keyRefused(e.Status)
}

// keyRefused says an upstream's status is about the operator's key or
// account, not the request: throttled (429), refused (401, 403), or out
// of credit (402: Anthropic's billing_error, OpenRouter's "insufficient
// credits"). Another key, or another target, may well answer.
func keyRefused(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusUnauthorized, http.StatusPaymentRequired, http.StatusForbidden:
		return true
	}
	return false
}
