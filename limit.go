package lyumen

import "time"

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
