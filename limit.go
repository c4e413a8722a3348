package lyumen

import (
	"math"
	"time"
)

// Quota is where a client stands against one rate limit, in the terms of
// the x-ratelimit-* headers OpenAI's clients read.
type Quota struct {
	Limit     int64         // the most per minute; 0 when there is no such limit
	Remaining int64         // what may still be spent now (never negative)
	Reset     time.Duration // until Remaining is back at Limit
}

// Allowance is what a rate limiter decided about one request: the client's
// request and token quotas after it and, when it was refused, how long to
// wait before trying again. The limiters (ratelimit in memory, redislimit
// shared between instances) produce it; httpapi turns it into headers.
type Allowance struct {
	Requests   Quota
	Tokens     Quota
	RetryAfter time.Duration // zero when the request was admitted
}

// LimitWindow is the period the per-minute limits are expressed in: a
// bucket holds at most one window's worth and refills at that rate.
const LimitWindow = time.Minute

// LimitWindowMS is LimitWindow in milliseconds. The bucket arithmetic is
// done in milliseconds, multiplying before dividing, in the same order in
// both limiters (and redislimit's script), so they give the same figures.
const LimitWindowMS = float64(LimitWindow / time.Millisecond)

// BucketQuota reports a bucket of capacity limit at level as a Quota.
func BucketQuota(limit, level float64) Quota {
	if limit <= 0 {
		return Quota{}
	}
	return Quota{Limit: int64(limit), Remaining: int64(math.Floor(max(level, 0))), Reset: BucketRefill(limit, level)}
}

// BucketRefill is how long a bucket of capacity limit at level takes to be
// full.
func BucketRefill(limit, level float64) time.Duration {
	if limit <= 0 || level >= limit {
		return 0
	}
	return time.Duration(math.Ceil((limit-level)*LimitWindowMS/limit)) * time.Millisecond
}

// BucketWait is how long a bucket of capacity limit at level takes to hold
// cost; zero when it holds it now or there is no limit.
func BucketWait(limit, level, cost float64) time.Duration {
	if limit <= 0 || level >= cost {
		return 0
	}
	return time.Duration(math.Ceil((cost-level)*LimitWindowMS/limit)) * time.Millisecond
}

// UntilBudgetRenewal is how long until the daily budgets renew, at 00:00 UTC.
func UntilBudgetRenewal(now time.Time) time.Duration {
	y, m, d := now.UTC().Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC).Sub(now)
}

// RateLimited is the refusal of a client that must wait.
func RateLimited(a Allowance) *Error {
	what := "requests"
	q := a.Requests
	if q.Limit == 0 || q.Remaining >= 1 {
		what, q = "tokens", a.Tokens
	}
	return Errorf(KindRateLimited, "rate limit reached for %s: %d per minute per client; try again in %s",
		what, q.Limit, a.RetryAfter.Round(time.Second).String())
}

// TooManyTokens refuses a request whose estimate alone exceeds a minute's
// tokens.
func TooManyTokens(tokens, limit int64) *Error {
	e := Errorf(KindTooLarge, "the request is too large: about %d tokens, and the limit is %d tokens per minute per client", tokens, limit)
	e.Code = "tokens_exceeded"
	return e
}

// BudgetSpent refuses a request to a model whose daily budget is spent.
func BudgetSpent(model string) *Error {
	e := Errorf(KindUnavailable, "the daily token budget for the model '%s' is spent; it renews at 00:00 UTC", Clip(model))
	e.Code = "budget_exhausted"
	return e
}
