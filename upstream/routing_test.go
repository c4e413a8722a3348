package upstream_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/upstream"
)

func oneTarget(opts upstream.Options, p *provider, m lyumen.Model) *upstream.Pool {
	if m.Name == "" {
		m.Name = publicModel
	}
	if m.Targets == nil {
		m.Targets = []lyumen.Target{{Provider: "only", Model: "model-a"}}
	}
	return upstream.NewWithOptions(lyumen.NewCatalog([]lyumen.Model{m}), map[string]lyumen.Provider{"only": p}, opts)
}

// failTimes fails n times with err, then answers.
func failTimes(n int, err error) func(context.Context) error {
	var calls atomic.Int32
	return func(context.Context) error {
		if int(calls.Add(1)) <= n {
			return err
		}
		return nil
	}
}

// failFirst fails once with err, then as then does.
func failFirst(err error, then func(context.Context) error) func(context.Context) error {
	var calls atomic.Int32
	return func(ctx context.Context) error {
		if calls.Add(1) == 1 {
			return err
		}
		return then(ctx)
	}
}

func TestPool_Retry(t *testing.T) {
	tests := []struct {
		name      string
		err       *lyumen.Error
		then      *lyumen.Error // the error of the tries after the first, when not err
		failures  int
		wantCalls int
		wantWait  time.Duration
		wantErr   bool
	}{
		{name: "500 then success: retried after the backoff", err: &lyumen.Error{Kind: lyumen.KindUpstream, Status: 500},
			failures: 1, wantCalls: 2, wantWait: 250 * time.Millisecond},
		{name: "429 with Retry-After 1s: waits what it was told", err: &lyumen.Error{Kind: lyumen.KindUpstream, Status: 429, RetryAfter: time.Second},
			failures: 1, wantCalls: 2, wantWait: time.Second},
		{name: "Retry-After beyond the longest wait: no retry", err: &lyumen.Error{Kind: lyumen.KindUpstream, Status: 429, RetryAfter: time.Minute},
			failures: 1, wantCalls: 1, wantErr: true},
		{name: "fails every round: the error after the retries", err: &lyumen.Error{Kind: lyumen.KindTimeout},
			failures: 10, wantCalls: 3, wantWait: 250*time.Millisecond + 500*time.Millisecond, wantErr: true},
		{name: "400 is not retried", err: &lyumen.Error{Kind: lyumen.KindUpstream, Status: 400},
			failures: 1, wantCalls: 1, wantErr: true},
		{name: "Retry-After of exactly the longest wait: retried", err: &lyumen.Error{Kind: lyumen.KindUpstream, Status: 429, RetryAfter: 2 * time.Second},
			failures: 1, wantCalls: 2, wantWait: 2 * time.Second},
		{name: "a Retry-After counts for the next wait only", err: &lyumen.Error{Kind: lyumen.KindUpstream, Status: 429, RetryAfter: time.Second},
			then: &lyumen.Error{Kind: lyumen.KindUpstream, Status: 500}, failures: 2, wantCalls: 3, wantWait: time.Second + 500*time.Millisecond},
		{name: "a round with nothing to retry is the last", err: &lyumen.Error{Kind: lyumen.KindUpstream, Status: 503},
			then: &lyumen.Error{Kind: lyumen.KindUpstream, Status: 404}, failures: 10, wantCalls: 2, wantWait: 250 * time.Millisecond, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fail := failTimes(tc.failures, tc.err)
				if tc.then != nil {
					fail = failFirst(tc.err, failTimes(tc.failures-1, tc.then))
				}
				p := &provider{name: "only", fail: fail}
				pool := oneTarget(upstream.Options{Retries: 2}, p, lyumen.Model{})
				start := time.Now()
				_, err := pool.Chat(t.Context(), &lyumen.Request{Model: publicModel})
				if (err != nil) != tc.wantErr {
					t.Fatalf("err = %v, want error %v", err, tc.wantErr)
				}
				if got := len(p.requests()); got != tc.wantCalls {
					t.Errorf("%d calls, want %d", got, tc.wantCalls)
				}
				if waited := time.Since(start); waited != tc.wantWait {
					t.Errorf("waited %v, want %v", waited, tc.wantWait)
				}
			})
		})
	}
}

func TestPool_Breaker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		down := true
		p := &provider{name: "only", fail: func(context.Context) error {
			if down {
				return &lyumen.Error{Kind: lyumen.KindUpstream, Status: http.StatusBadGateway}
			}
			return nil
		}}
		pool := oneTarget(upstream.Options{Retries: -1, BreakerFailures: 3, BreakerCooldown: 10 * time.Second}, p, lyumen.Model{})
		var attempts []lyumen.Attempt
		req := func() error {
			_, err := pool.Chat(t.Context(), &lyumen.Request{Model: publicModel, OnAttempt: func(a lyumen.Attempt) { attempts = append(attempts, a) }})
			return err
		}
		for range 3 {
			req()
		}
		if n := len(p.requests()); n != 3 {
			t.Fatalf("%d calls before the breaker opened, want 3", n)
		}
		err := req()
		if len(p.requests()) != 3 || lyumen.KindOf(err) != lyumen.KindUnavailable {
			t.Errorf("open breaker: %d calls, err %v; want no call and KindUnavailable", len(p.requests()), err)
		}
		if last := attempts[len(attempts)-1]; last.Error == "" || last.Duration != 0 {
			t.Errorf("the skipped target is not in the attempts: %+v", last)
		}

		time.Sleep(10 * time.Second) // cooldown over: one trial, which fails and reopens
		req()
		req()
		if n := len(p.requests()); n != 4 {
			t.Errorf("%d calls after the cooldown, want exactly one trial (4)", n)
		}
		time.Sleep(10 * time.Second)
		down = false
		if err := req(); err != nil {
			t.Fatalf("trial after recovery: %v", err)
		}
		if err := req(); err != nil || len(p.requests()) != 6 {
			t.Errorf("closed again: err %v, %d calls, want 6", err, len(p.requests()))
		}
	})
}

// TestPool_BreakerCountsConsecutiveFailures: a breaker opens on failures
// in a row only: any answer from the upstream, a success or a refusal of
// the request (400, its 404 for the model), says it is up, resets the count
// and, in a half-open trial, closes the breaker.
func TestPool_BreakerCountsConsecutiveFailures(t *testing.T) {
	down := &lyumen.Error{Kind: lyumen.KindUpstream, Status: http.StatusBadGateway}
	badRequest := &lyumen.Error{Kind: lyumen.KindUpstream, Status: http.StatusBadRequest}
	notFound := &lyumen.Error{Kind: lyumen.KindUpstream, Status: http.StatusNotFound}
	const cooldown = 10 * time.Second
	var answered error // a nil answer in before, by name
	for _, tc := range []struct {
		name   string
		before []error // the target's answers to the requests before, in turn; errCooldown: wait the cooldown out
		want   bool    // the next request reaches the target
	}{
		{"two failures in a row rest it", []error{down, down}, false},
		{"a failed trial rests it again", []error{down, down, errCooldown, down}, false},
		{"an answer between failures", []error{down, answered, down}, true},
		{"a 400 between failures", []error{down, badRequest, down}, true},
		{"a 404 between failures", []error{down, notFound, down}, true},
		{"a trial answered closes it", []error{down, down, errCooldown, answered, down}, true},
		{"a trial refused with a 400 closes it", []error{down, down, errCooldown, badRequest, down}, true},
		{"a trial answered with a 404 closes it", []error{down, down, errCooldown, notFound, down}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var next error
				p := &provider{name: "only", fail: func(context.Context) error { return next }}
				pool := oneTarget(upstream.Options{Retries: -1, BreakerFailures: 2, BreakerCooldown: cooldown}, p, lyumen.Model{})
				for _, err := range tc.before {
					if err == errCooldown {
						time.Sleep(cooldown)
						continue
					}
					next = err
					pool.Chat(t.Context(), &lyumen.Request{Model: publicModel})
				}
				before := len(p.requests())
				next = nil
				pool.Chat(t.Context(), &lyumen.Request{Model: publicModel})
				if got := len(p.requests()) > before; got != tc.want {
					t.Errorf("the next request reached the target: %v, want %v", got, tc.want)
				}
			})
		})
	}
}

// errCooldown stands, in TestPool_BreakerCountsConsecutiveFailures, for
// waiting out the cooldown.
var errCooldown = errors.New("cooldown")

func TestPool_Weights(t *testing.T) {
	a, b, c := &provider{name: "a"}, &provider{name: "b"}, &provider{name: "c"}
	catalog := lyumen.NewCatalog([]lyumen.Model{{Name: publicModel, Targets: []lyumen.Target{
		{Provider: "a", Model: "m", Weight: 3}, {Provider: "b", Model: "m", Weight: 1}, {Provider: "c", Model: "m"}}}})
	draw := 0
	pool := upstream.NewWithOptions(catalog, map[string]lyumen.Provider{"a": a, "b": b, "c": c},
		upstream.Options{Rand: func(n int) int { d := draw % n; draw++; return d }})
	for range 8 {
		if _, err := pool.Chat(t.Context(), &lyumen.Request{Model: publicModel}); err != nil {
			t.Fatal(err)
		}
	}
	got := []int{len(a.requests()), len(b.requests()), len(c.requests())}
	if diff := cmp.Diff([]int{6, 2, 0}, got); diff != "" {
		t.Errorf("first attempts by weight 3:1:0 (-want +got):\n%s", diff)
	}

	// The drawn target fails: the others follow in configured order.
	b.fail = failWith(&lyumen.Error{Kind: lyumen.KindUpstream, Status: 503})
	a.fail = failWith(&lyumen.Error{Kind: lyumen.KindUpstream, Status: 503})
	draw = 3 // lands on b
	var order []string
	pool.Chat(t.Context(), &lyumen.Request{Model: publicModel, OnAttempt: func(at lyumen.Attempt) { order = append(order, at.Provider) }})
	if diff := cmp.Diff([]string{"b", "a", "c"}, order[:3]); diff != "" {
		t.Errorf("fallback order (-want +got):\n%s", diff)
	}
}

func TestPool_MaxTokensCap(t *testing.T) {
	tests := []struct {
		name       string
		asked, cap int
		scoreOnly  bool
		want       int
		wantCapped bool
	}{
		{"unset is capped", 0, 100, false, 100, true},
		{"above is capped", 500, 100, false, 100, true},
		{"below is kept", 50, 100, false, 50, false},
		{"no cap", 500, 0, false, 500, false},
		{"a prompt to score asks for no answer", 0, 100, true, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &provider{name: "only"}
			pool := oneTarget(upstream.Options{}, p, lyumen.Model{MaxTokens: tc.cap})
			req := &lyumen.Request{Model: publicModel, MaxTokens: tc.asked, ScoreOnly: tc.scoreOnly}
			if _, err := pool.Chat(t.Context(), req); err != nil {
				t.Fatal(err)
			}
			got := p.requests()[0]
			if got.MaxTokens != tc.want || got.CappedMaxTokens != tc.wantCapped {
				t.Errorf("upstream asked for %d (capped %v), want %d (%v)", got.MaxTokens, got.CappedMaxTokens, tc.want, tc.wantCapped)
			}
			if req.MaxTokens != tc.asked {
				t.Error("the caller's request was changed")
			}
		})
	}
}

// TestPool_RetryAfterOfAnyTarget: the next round waits for the longest
// Retry-After any target of the round asked for, not only the last's; past
// MaxWait there is no next round.
func TestPool_RetryAfterOfAnyTarget(t *testing.T) {
	for _, tc := range []struct {
		name       string
		retryAfter time.Duration
		wantCalls  int
		wantWait   time.Duration
	}{
		{"1s", time.Second, 2, time.Second},
		{"a minute: past MaxWait", time.Minute, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a := &provider{name: "a", fail: failTimes(1, &lyumen.Error{Kind: lyumen.KindUpstream, Status: 429, RetryAfter: tc.retryAfter})}
				b := &provider{name: "b", fail: failTimes(10, &lyumen.Error{Kind: lyumen.KindUpstream, Status: 503})}
				catalog := lyumen.NewCatalog([]lyumen.Model{{Name: publicModel, Targets: []lyumen.Target{{Provider: "a", Model: "m"}, {Provider: "b", Model: "m"}}}})
				pool := upstream.NewWithOptions(catalog, map[string]lyumen.Provider{"a": a, "b": b}, upstream.Options{Retries: 1})
				start := time.Now()
				pool.Chat(t.Context(), &lyumen.Request{Model: publicModel})
				if got := len(a.requests()); got != tc.wantCalls {
					t.Errorf("target a, which asked for Retry-After %v, called %d times; want %d", tc.retryAfter, got, tc.wantCalls)
				}
				if waited := time.Since(start); waited != tc.wantWait {
					t.Errorf("waited %v, want %v", waited, tc.wantWait)
				}
			})
		})
	}
}

// TestPool_AbandonedTrialKeepsBreakerOpen: a half-open trial whose client
// leaves proves nothing about the upstream, so the breaker stays open: the
// next request is a new trial, not the first of many.
func TestPool_AbandonedTrialKeepsBreakerOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &provider{name: "only", fail: func(ctx context.Context) error {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return &lyumen.Error{Kind: lyumen.KindUpstream, Status: http.StatusBadGateway}
		}}
		pool := oneTarget(upstream.Options{Retries: -1, BreakerFailures: 3, BreakerCooldown: 10 * time.Second}, p, lyumen.Model{})
		for range 3 {
			pool.Chat(t.Context(), &lyumen.Request{Model: publicModel})
		}
		time.Sleep(10 * time.Second)
		ctx, cancel := context.WithCancel(t.Context())
		cancel() // the trial's client has gone
		pool.Chat(ctx, &lyumen.Request{Model: publicModel})
		before := len(p.requests())
		for range 4 {
			pool.Chat(t.Context(), &lyumen.Request{Model: publicModel})
		}
		if got := len(p.requests()) - before; got != 1 {
			t.Errorf("after a trial that proved nothing, %d requests went to the failing target; want 1, a new trial", got)
		}
	})
}

// hangKey marks a test request whose upstream answers only when its client
// leaves.
type hangKey struct{}

// hangOrFail hangs a request marked with hangKey until its client leaves,
// and fails any other with a 502.
func hangOrFail(ctx context.Context) error {
	if ctx.Value(hangKey{}) != nil {
		<-ctx.Done()
		return ctx.Err()
	}
	return &lyumen.Error{Kind: lyumen.KindUpstream, Status: http.StatusBadGateway}
}

// TestPool_OnlyTheTrialReleasesIt: a request let through while the breaker
// was closed, whose client leaves during a later half-open trial, does not
// end that trial: a second one does not start beside it.
func TestPool_OnlyTheTrialReleasesIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &provider{name: "only", fail: hangOrFail}
		pool := oneTarget(upstream.Options{Retries: -1, BreakerFailures: 3, BreakerCooldown: 10 * time.Second}, p, lyumen.Model{})
		chat := func(ctx context.Context) { pool.Chat(ctx, &lyumen.Request{Model: publicModel}) }
		hanging := func() context.CancelFunc {
			ctx, cancel := context.WithCancel(context.WithValue(t.Context(), hangKey{}, true))
			go chat(ctx)
			synctest.Wait()
			return cancel
		}
		leaveA := hanging() // let through while the breaker is closed
		for range 3 {
			chat(t.Context()) // the breaker opens
		}
		time.Sleep(10 * time.Second)
		leaveT := hanging() // the half-open trial
		defer leaveT()
		leaveA()
		synctest.Wait()
		before := len(p.requests())
		chat(t.Context())
		if got := len(p.requests()) - before; got != 0 {
			t.Errorf("with a trial under way, %d more requests went to the target", got)
		}
	})
}

// TestPool_TrialUnderWaySaysWhenToComeBack: while a resting target's
// trial is under way, other requests are told to come back shortly, so
// their SDKs wait rather than retry at once.
func TestPool_TrialUnderWaySaysWhenToComeBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &provider{name: "only", fail: hangOrFail}
		pool := oneTarget(upstream.Options{Retries: -1, BreakerFailures: 1, BreakerCooldown: 10 * time.Second}, p, lyumen.Model{})
		pool.Chat(t.Context(), &lyumen.Request{Model: publicModel}) // the breaker opens
		time.Sleep(10 * time.Second)
		ctx, leave := context.WithCancel(context.WithValue(t.Context(), hangKey{}, true))
		defer leave()
		go pool.Chat(ctx, &lyumen.Request{Model: publicModel}) // the trial, under way
		synctest.Wait()
		_, err := pool.Chat(t.Context(), &lyumen.Request{Model: publicModel})
		if e, ok := errors.AsType[*lyumen.Error](err); !ok || e.Kind != lyumen.KindUnavailable || e.RetryAfter <= 0 {
			t.Errorf("err %#v, want a KindUnavailable error that says when to come back", err)
		}
		leave()
		synctest.Wait()
	})
}

// TestPool_UntranslatedAndBreakers: a target's refusals to translate cost
// its breaker nothing, and leave a half-open trial to the next request;
// and a refusal is not the answer while the target that could take the
// request is resting.
func TestPool_UntranslatedAndBreakers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		raw := lyumen.Errorf(lyumen.KindInvalid, "'echo' cannot be translated")
		untranslatable := &lyumen.Request{Model: publicModel, Untranslated: raw}
		refuses := true
		down := false
		p := &provider{name: "only", fail: func(context.Context) error {
			if down {
				return &lyumen.Error{Kind: lyumen.KindUpstream, Status: http.StatusBadGateway}
			}
			if refuses {
				return raw
			}
			return nil
		}}
		pool := oneTarget(upstream.Options{Retries: -1, BreakerFailures: 2, BreakerCooldown: 10 * time.Second}, p, lyumen.Model{})
		for range 5 {
			if _, err := pool.Chat(t.Context(), untranslatable); !errors.Is(err, raw) {
				t.Fatalf("err %v, want the refusal", err)
			}
		}
		refuses = false
		if _, err := pool.Chat(t.Context(), &lyumen.Request{Model: publicModel}); err != nil {
			t.Fatalf("after five refusals the target is rested: %v", err)
		}
		// Open the breaker, wait for half-open: a refusal must leave the
		// trial to the next request.
		down = true
		pool.Chat(t.Context(), &lyumen.Request{Model: publicModel})
		pool.Chat(t.Context(), &lyumen.Request{Model: publicModel})
		if _, err := pool.Chat(t.Context(), untranslatable); errors.Is(err, raw) || lyumen.KindOf(err) != lyumen.KindUnavailable {
			t.Errorf("with the only target resting: %v, want KindUnavailable, not the refusal", err)
		}
		// Two targets: the one that could take it is resting, the other
		// refuses: the client gets the outage, not the refusal.
		native := &provider{name: "native", fail: failWith(&lyumen.Error{Kind: lyumen.KindUpstream, Status: http.StatusBadGateway})}
		translating := &provider{name: "translating", fail: func(ctx context.Context) error { return nil }}
		two := upstream.NewWithOptions(lyumen.NewCatalog([]lyumen.Model{{Name: publicModel, Targets: []lyumen.Target{
			{Provider: "native", Model: "a"}, {Provider: "translating", Model: "b"}}}}),
			map[string]lyumen.Provider{"native": native, "translating": translating},
			upstream.Options{Retries: -1, BreakerFailures: 1, BreakerCooldown: time.Hour})
		if _, err := two.Chat(t.Context(), &lyumen.Request{Model: publicModel}); err != nil {
			t.Fatalf("the second target should answer: %v", err)
		}
		translating.fail = func(ctx context.Context) error { return raw }
		if _, err := two.Chat(t.Context(), untranslatable); errors.Is(err, raw) || lyumen.KindOf(err) != lyumen.KindUnavailable {
			t.Errorf("with the target that could take it resting: %v, want KindUnavailable, not the refusal", err)
		}

		time.Sleep(10 * time.Second)
		down, refuses = false, true
		pool.Chat(t.Context(), untranslatable)
		refuses = false
		if _, err := pool.Chat(t.Context(), &lyumen.Request{Model: publicModel}); err != nil {
			t.Errorf("the trial after a refusal: %v", err)
		}
	})
}

// TestPool_RefusalBeforeUpstreamKeepsBreakerOpen: a request its provider
// refuses before asking the upstream (content it cannot translate, a body
// it cannot build) tells nothing of the upstream's health: it does not
// close a resting target's breaker, which would send the next requests to
// a target still down.
func TestPool_RefusalBeforeUpstreamKeepsBreakerOpen(t *testing.T) {
	for _, refusal := range []error{
		lyumen.Errorf(lyumen.KindInvalid, "content of type 'anthropic:document' cannot be sent to this model's provider"),
		errors.New("set upstream model: bad body"),
	} {
		t.Run(refusal.Error(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				type refuseKey struct{}
				p := &provider{name: "only", fail: func(ctx context.Context) error {
					if ctx.Value(refuseKey{}) != nil {
						return refusal
					}
					return &lyumen.Error{Kind: lyumen.KindUpstream, Status: http.StatusBadGateway}
				}}
				pool := oneTarget(upstream.Options{Retries: -1, BreakerFailures: 3, BreakerCooldown: 10 * time.Second}, p, lyumen.Model{})
				for range 3 {
					pool.Chat(t.Context(), &lyumen.Request{Model: publicModel})
				}
				time.Sleep(10 * time.Second)
				if _, err := pool.Chat(context.WithValue(t.Context(), refuseKey{}, true), &lyumen.Request{Model: publicModel}); !errors.Is(err, refusal) {
					t.Fatalf("err %v, want the refusal", err)
				}
				before := len(p.requests())
				for range 4 {
					pool.Chat(t.Context(), &lyumen.Request{Model: publicModel})
				}
				if got := len(p.requests()) - before; got != 1 {
					t.Errorf("after a refusal that asked no upstream, %d requests went to the failing target; want 1, a new trial", got)
				}
			})
		})
	}
}

// TestPool_RestingSaysWhenToComeBack: when every target of a model rests,
// the client is told to come back when the first of them may be tried
// again, so its SDK waits that long rather than retrying at once.
func TestPool_RestingSaysWhenToComeBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var aDown, bDown atomic.Bool
		down := func(d *atomic.Bool) func(context.Context) error {
			return func(context.Context) error {
				if d.Load() {
					return &lyumen.Error{Kind: lyumen.KindUpstream, Status: http.StatusBadGateway}
				}
				return nil
			}
		}
		a, b := &provider{name: "a", fail: down(&aDown)}, &provider{name: "b", fail: down(&bDown)}
		catalog := lyumen.NewCatalog([]lyumen.Model{{Name: publicModel, Targets: []lyumen.Target{{Provider: "a", Model: "m"}, {Provider: "b", Model: "m"}}}})
		pool := upstream.NewWithOptions(catalog, map[string]lyumen.Provider{"a": a, "b": b},
			upstream.Options{Retries: -1, BreakerFailures: 1, BreakerCooldown: 10 * time.Second})
		req := func() error {
			_, err := pool.Chat(t.Context(), &lyumen.Request{Model: publicModel})
			return err
		}
		aDown.Store(true)
		req() // a rests from now, b answers
		time.Sleep(4 * time.Second)
		bDown.Store(true)
		req() // b rests from now
		time.Sleep(2 * time.Second)
		err := req()
		e, ok := errors.AsType[*lyumen.Error](err)
		if !ok || e.Kind != lyumen.KindUnavailable || e.RetryAfter != 4*time.Second {
			t.Errorf("every target resting: %#v; want KindUnavailable, come back in 4 s (a's rest left)", err)
		}
	})
}

// TestPool_MissingModel: a target's 404 (its model retired, or misspelt in
// the configuration) hands the request to the next target, but neither
// starts a retry round, where it would say the same again, nor rests the
// target, which a client's request could otherwise do at will.
func TestPool_MissingModel(t *testing.T) {
	missingA := &lyumen.Error{Kind: lyumen.KindUpstream, Status: http.StatusNotFound, Message: "upstream: model-a not found"}
	missing := &lyumen.Error{Kind: lyumen.KindUpstream, Status: http.StatusNotFound, Message: "upstream: model-b not found"}
	first := &provider{name: "first", fail: failWith(missingA)}
	second := &provider{name: "second", fail: failWith(missing)}
	catalog := lyumen.NewCatalog([]lyumen.Model{{Name: publicModel, Targets: []lyumen.Target{
		{Provider: "first", Model: "model-a"}, {Provider: "second", Model: "model-b"}}}})
	p := upstream.NewWithOptions(catalog, map[string]lyumen.Provider{"first": first, "second": second},
		upstream.Options{Retries: 2, Backoff: time.Millisecond, BreakerFailures: 1})
	for range 3 {
		if _, err := p.Chat(t.Context(), &lyumen.Request{Model: publicModel}); !errors.Is(err, missing) {
			t.Fatalf("err %v, want the last target's 404", err)
		}
	}
	if n, m := len(first.requests()), len(second.requests()); n != 3 || m != 3 {
		t.Errorf("the targets were asked %d and %d times in three requests, want 3 each: one round a request, none rested", n, m)
	}
}

// TestPool_MissingModelDoesNotHideAnOutage: a 404 says one target lacks
// the model, not that the model is nowhere: while another target that may
// have it failed or rests, the client hears of that (a 5xx, or a 503 with
// when to come back), not a 404, which SDKs never retry.
func TestPool_MissingModelDoesNotHideAnOutage(t *testing.T) {
	missing := &lyumen.Error{Kind: lyumen.KindUpstream, Status: http.StatusNotFound, Message: "upstream: model not found"}
	down := &lyumen.Error{Kind: lyumen.KindUpstream, Status: http.StatusServiceUnavailable, Message: "upstream: unavailable"}
	for _, tc := range []struct {
		name     string
		first    string // which target is asked first: "lacks" or "other"
		resting  bool   // the other target rests, else it fails with down
		wantKind lyumen.Kind
		want     error
	}{
		{name: "down, then missing", first: "other", want: down},
		{name: "missing, then down", first: "lacks", want: down},
		{name: "resting, then missing", first: "other", resting: true, wantKind: lyumen.KindUnavailable},
		{name: "missing, then resting", first: "lacks", resting: true, wantKind: lyumen.KindUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lacks := &provider{name: "lacks", fail: failWith(missing)}
			other := &provider{name: "other", fail: failWith(down)}
			targets := []lyumen.Target{{Provider: "lacks", Model: "model-a"}, {Provider: "other", Model: "model-b"}}
			if tc.first == "other" {
				targets[0], targets[1] = targets[1], targets[0]
			}
			catalog := lyumen.NewCatalog([]lyumen.Model{{Name: publicModel, Targets: targets},
				{Name: "other-only", Targets: []lyumen.Target{{Provider: "other", Model: "model-b"}}}})
			p := upstream.NewWithOptions(catalog, map[string]lyumen.Provider{"lacks": lacks, "other": other},
				upstream.Options{Retries: -1, BreakerFailures: 1, BreakerCooldown: time.Hour})
			if tc.resting {
				p.Chat(t.Context(), &lyumen.Request{Model: "other-only"}) // its breaker opens
			}
			_, err := p.Chat(t.Context(), &lyumen.Request{Model: publicModel})
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("err %v, want %v", err, tc.want)
			}
			if e, ok := errors.AsType[*lyumen.Error](err); tc.want == nil && (!ok || e.Kind != tc.wantKind || e.RetryAfter <= 0) {
				t.Errorf("err %v, want a KindUnavailable error that says when to come back", err)
			}
		})
	}
}
