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
	trial     bool // a half-open trial is under way
}

// allow says whether a request may go to the target, and whether it is
// the half-open trial, which only it may release; refused, how long the
// target rests still.
func (b *breaker) allow(now time.Time) (ok, trial bool, rest time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.openUntil.IsZero():
		return true, false, 0
	case now.Before(b.openUntil):
		return false, false, b.openUntil.Sub(now)
	case b.trial:
		return false, false, trialRest
	}
	b.trial = true
	return true, true, 0
}

// trialRest is how long a target whose trial is under way is taken to
// rest still: a trial takes about an answer's time.
const trialRest = time.Second

func (b *breaker) success() {
	b.mu.Lock()
	b.failures, b.openUntil, b.trial = 0, time.Time{}, false
	b.mu.Unlock()
}

// release ends a trial that told nothing about the upstream (its client
// left): the next request tries again. Only the trial's own request
// (allow's trial) may call it.
func (b *breaker) release() {
	b.mu.Lock()
	b.trial = false
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
