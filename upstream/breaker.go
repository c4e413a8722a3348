package upstream

import (
	"sync"
	"time"

	"github.com/lyumen/lyumen"
)

type targetKey struct{ provider, model string }

// breakers holds one circuit breaker per target.
type breakers struct {
	failures int
	cooldown time.Duration
	mu       sync.Mutex
	m        map[targetKey]*breaker
}

func newBreakers(failures int, cooldown time.Duration) *breakers {
	return &breakers{failures: failures, cooldown: cooldown, m: map[targetKey]*breaker{}}
}

func (bs *breakers) get(t lyumen.Target) *breaker {
	k := targetKey{t.Provider, t.Model}
	bs.mu.Lock()
	defer bs.mu.Unlock()
	b, ok := bs.m[k]
	if !ok {
		b = &breaker{limit: bs.failures, cooldown: bs.cooldown}
		bs.m[k] = b
	}
	return b
}

// breaker rests a target that keeps failing, so clients do not wait on it:
// closed, it counts consecutive failures; at the limit it opens for the
// cooldown; after that one trial request is let through, and its outcome
// closes or reopens it.
type breaker struct {
	limit    int
	cooldown time.Duration

	mu        sync.Mutex
	failures  int
	openUntil time.Time
	trial     bool   // a half-open trial is under way
	trials    uint64 // the trials begun: the last one's number
}

// allow says whether a request may go to the target, and whether it is
// the half-open trial: then trial is its number, which only it may
// release; else 0. Refused, rest is how long the target rests still.
func (b *breaker) allow(now time.Time) (ok bool, trial uint64, rest time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.openUntil.IsZero():
		return true, 0, 0
	case now.Before(b.openUntil):
		return false, 0, b.openUntil.Sub(now)
	case b.trial:
		return false, 0, trialRest
	}
	b.trial = true
	b.trials++
	return true, b.trials, 0
}

// trialRest is how long a target whose trial is under way is taken to
// rest still: a trial takes about an answer's time.
const trialRest = time.Second

func (b *breaker) success() {
	b.mu.Lock()
	b.failures, b.openUntil, b.trial = 0, time.Time{}, false
	b.mu.Unlock()
}

// release ends trial, allow's number for it, which told nothing about the
// upstream (its client left): the next request tries again. A trial
// already over (another request's outcome closed or reopened the breaker
// meanwhile) releases nothing: a later trial may be under way, and a
// stream settles long after it opened (see fallback).
func (b *breaker) release(trial uint64) {
	b.mu.Lock()
	if b.trial && b.trials == trial {
		b.trial = false
	}
	b.mu.Unlock()
}

func (b *breaker) failure(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures++
	if b.trial || b.failures >= b.limit {
		b.openUntil, b.trial = now.Add(b.cooldown), false
	}
}
