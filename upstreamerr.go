package lyumen

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"
)

// TransportError classifies a provider's failure to reach or read its
// upstream, the same for every wire format: the client's own departure is
// returned as the context's error (nobody is left to tell), a timeout is
// KindTimeout, anything else KindUpstream.
func TransportError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return &Error{Kind: KindTimeout, Message: "the upstream did not answer in time", Err: err}
	}
	return &Error{Kind: KindUpstream, Message: "the upstream could not be reached", Err: err}
}

// MaxRetryAfter bounds an upstream's wait however it is written (seconds,
// a date, Gemini's retryDelay): a day, far past any wait a client is kept
// for, and far from time.Duration's overflow, which a date centuries ahead
// reached and a client was sent as a negative Retry-After.
const MaxRetryAfter = 24 * time.Hour

// ParseRetryAfter reads a Retry-After header: seconds, or an HTTP date.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	// Too many digits for an int64 is ParseInt's largest value with
	// ErrRange: a long wait, not none.
	if s, err := strconv.ParseInt(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		if s < 0 {
			return 0
		}
		return time.Duration(min(s, int64(MaxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), MaxRetryAfter)
	}
	return 0
}
