package upstream_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/upstream"
)

// scripted is a provider whose streams play a script: each step an event
// (raw text, content) or an error. Raw shares one buffer, rewritten at
// every step, as a real stream's does.
type scripted struct {
	name    string
	script  []step
	opened  int
	streams []*script  // those opened, in order
	clock   *time.Time // moved by each step's after, when set
}

type step struct {
	raw, content string
	delta        *lyumen.ChoiceDelta // the event's delta, in place of content
	empty        bool                // an event that carries nothing (see lyumen.Stream)
	buffered     bool                // Ready says true before this step
	err          error
	after        time.Duration // the step comes this long after the one before
}

func (p *scripted) Chat(context.Context, *lyumen.Request) (*lyumen.Response, error) {
	return nil, errors.New("not used")
}

func (p *scripted) ChatStream(context.Context, *lyumen.Request) (lyumen.Stream, error) {
	p.opened++
	s := &script{steps: p.script, clock: p.clock}
	p.streams = append(p.streams, s)
	return s, nil
}

type script struct {
	steps  []step
	buf    []byte
	closed bool
	clock  *time.Time
}

func (s *script) Next() (lyumen.Event, error) {
	if len(s.steps) == 0 {
		return lyumen.Event{}, io.EOF
	}
	st := s.steps[0]
	s.steps = s.steps[1:]
	if s.clock != nil {
		*s.clock = s.clock.Add(st.after)
	}
	if st.err != nil {
		return lyumen.Event{}, st.err
	}
	if st.empty {
		return lyumen.Event{}, nil
	}
	s.buf = append(s.buf[:0], st.raw...)
	ev := lyumen.Event{Raw: s.buf}
	switch {
	case st.delta != nil:
		ev.Choices = []lyumen.ChoiceDelta{*st.delta}
	case st.content != "":
		ev.Choices = []lyumen.ChoiceDelta{{Content: st.content}}
	}
	return ev, nil
}

// Ready says the next step is buffered.
func (s *script) Ready() bool { return len(s.steps) > 0 && s.steps[0].buffered }

func (s *script) Close() error { s.closed = true; return nil }

var (
	overloaded = &lyumen.Error{Kind: lyumen.KindUpstream, Status: 529, Message: "Overloaded"}
	refused    = &lyumen.Error{Kind: lyumen.KindUpstream, Status: http.StatusBadRequest, Message: "prompt too long"}
)

// readAll reads s to its end: the raw texts of its events, and its error.
func readAll(s lyumen.Stream) ([]string, error) {
	var got []string
	for {
		ev, err := s.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return got, err
		}
		if !ev.Empty() {
			got = append(got, string(ev.Raw))
		}
	}
}

func TestPool_StreamFallback(t *testing.T) {
	good := []step{{raw: "b-start"}, {raw: "b-hello", content: "hello"}, {raw: "b-end", content: "!"}}
	preambles, empties := make([]step, 9), make([]step, 9)
	for i := range preambles {
		preambles[i], empties[i] = step{raw: "a-ping"}, step{empty: true}
	}
	// begins is a stream whose answer begins with delta, then fails.
	begins := func(delta lyumen.ChoiceDelta) []step {
		return []step{{raw: "a-start"}, {raw: "a-begin", delta: &delta}, {err: overloaded}}
	}
	begun := []string{"a-start", "a-begin"}
	for _, tc := range []struct {
		name         string
		first        []step
		want         []string
		wantErr      error
		wantAttempts []string // provider:error?
	}{
		{name: "overloaded before content falls back",
			first: []step{{raw: "a-start"}, {raw: "a-ping"}, {err: overloaded}},
			want:  []string{"b-start", "b-hello", "b-end"}, wantAttempts: []string{"first:failed", "second:served"}},
		{name: "held events pass on as they came",
			first: []step{{raw: "a-start"}, {raw: "a-ping"}, {raw: "a-hi", content: "hi"}},
			want:  []string{"a-start", "a-ping", "a-hi"}, wantAttempts: []string{"first:served"}},
		{name: "refused before content: the error alone, without the held events",
			first:   []step{{raw: "a-start"}, {raw: "a-ping"}, {err: refused}},
			wantErr: refused, wantAttempts: []string{"first:failed"}},
		{name: "failed after content: no fallback",
			first: []step{{raw: "a-start"}, {raw: "a-hi", content: "hi"}, {err: overloaded}},
			want:  []string{"a-start", "a-hi"}, wantErr: overloaded, wantAttempts: []string{"first:served"}},
		{name: "ended with nothing: served",
			first: []step{{raw: "a-start"}},
			want:  []string{"a-start"}, wantAttempts: []string{"first:served"}},
		{name: "past maxHeld events: passed on, no fallback",
			first: append(preambles[:len(preambles):len(preambles)], step{err: overloaded}),
			want:  strings.Split(strings.Repeat("a-ping ", 9), " ")[:9], wantErr: overloaded, wantAttempts: []string{"first:served"}},
		{name: "maxHeld events: still held, falls back",
			first: append(preambles[:8:8], step{err: overloaded}),
			want:  []string{"b-start", "b-hello", "b-end"}, wantAttempts: []string{"first:failed", "second:served"}},
		{name: "events that carry nothing are not held: falls back after any number",
			first: append(empties[:len(empties):len(empties)], step{err: overloaded}),
			want:  []string{"b-start", "b-hello", "b-end"}, wantAttempts: []string{"first:failed", "second:served"}},
		{name: "reasoning begins the answer: no fallback",
			first: begins(lyumen.ChoiceDelta{Reasoning: "hm"}),
			want:  begun, wantErr: overloaded, wantAttempts: []string{"first:served"}},
		{name: "a refusal begins the answer: no fallback",
			first: begins(lyumen.ChoiceDelta{Refusal: "no"}),
			want:  begun, wantErr: overloaded, wantAttempts: []string{"first:served"}},
		{name: "a tool call begins the answer: no fallback",
			first: begins(lyumen.ChoiceDelta{ToolCalls: []lyumen.ToolCall{{ID: "call_1", Name: "f"}}}),
			want:  begun, wantErr: overloaded, wantAttempts: []string{"first:served"}},
		{name: "a finish begins the answer: no fallback",
			first: begins(lyumen.ChoiceDelta{FinishReason: "stop"}),
			want:  begun, wantErr: overloaded, wantAttempts: []string{"first:served"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first := &scripted{name: "first", script: tc.first}
			second := &scripted{name: "second", script: good}
			var attempts []string
			req := &lyumen.Request{Model: publicModel, OnAttempt: func(a lyumen.Attempt) {
				outcome := "served"
				if a.Error != "" {
					outcome = "failed"
				}
				attempts = append(attempts, a.Provider+":"+outcome)
			}}
			p := twoTargets(first, second, upstream.Options{Retries: -1})
			s, err := p.ChatStream(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			got, err := readAll(s)
			s.Close()
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("err %v, want %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantAttempts, attempts); diff != "" {
				t.Errorf("attempts (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPool_StreamHoldsForALimitedTime: a stream that brings pings but no
// content for long is passed on, so that its client's connection is not
// silent, and no longer falls back; the time counts from the first event
// held, so a stream slow to begin (a long prompt) still falls back.
func TestPool_StreamHoldsForALimitedTime(t *testing.T) {
	for _, tc := range []struct {
		name    string
		first   []step
		want    []string
		wantErr error
	}{
		{name: "a slow start still falls back",
			first: []step{{raw: "start", after: 30 * time.Second}, {raw: "ping", after: 6 * time.Second}, {err: overloaded, after: time.Second}},
			want:  []string{"b-hi"}},
		{name: "pings past 10 s pass on",
			first: []step{{raw: "start"}, {raw: "ping", after: 6 * time.Second}, {raw: "ping", after: 5 * time.Second}, {err: overloaded}},
			want:  []string{"start", "ping", "ping"}, wantErr: overloaded},
		{name: "a ping just before 10 s is held",
			first: []step{{raw: "start"}, {raw: "ping", after: 10*time.Second - time.Millisecond}, {err: overloaded}},
			want:  []string{"b-hi"}},
		{name: "a ping at 10 s passes on",
			first: []step{{raw: "start"}, {raw: "ping", after: 10 * time.Second}, {err: overloaded}},
			want:  []string{"start", "ping"}, wantErr: overloaded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Now()
			first := &scripted{script: tc.first, clock: &now}
			second := &scripted{script: []step{{raw: "b-hi", content: "hi"}}, clock: &now}
			p := twoTargets(first, second, upstream.Options{Retries: -1, Now: func() time.Time { return now }})
			s, err := p.ChatStream(t.Context(), &lyumen.Request{Model: publicModel})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			got, err := readAll(s)
			if diff := cmp.Diff(tc.want, got); diff != "" || !errors.Is(err, tc.wantErr) {
				t.Errorf("err %v, events (-want +got):\n%s", err, diff)
			}
		})
	}
}

// TestPool_StreamFallbackEveryTargetFails: the stream ends in the error of
// the route, after the retry round, as a failure to open would.
func TestPool_StreamFallbackEveryTargetFails(t *testing.T) {
	failing := []step{{raw: "start"}, {err: overloaded}}
	first, second := &scripted{script: failing}, &scripted{script: failing}
	p := twoTargets(first, second, upstream.Options{Retries: 1, Backoff: time.Millisecond})
	s, err := p.ChatStream(t.Context(), &lyumen.Request{Model: publicModel})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := readAll(s)
	if !errors.Is(err, overloaded) || len(got) != 0 {
		t.Errorf("events %q, err %v; want none, then %v", got, err, overloaded)
	}
	if first.opened != 2 || second.opened != 2 {
		t.Errorf("opened %d and %d streams, want 2 each (two rounds)", first.opened, second.opened)
	}
	if _, err := s.Next(); !errors.Is(err, overloaded) {
		t.Errorf("Next after the end: %v, want the error again", err)
	}
}

// TestPool_StreamFailuresRestTheTarget: a stream that fails before its
// answer counts against its target's breaker, as a failed open does.
func TestPool_StreamFailuresRestTheTarget(t *testing.T) {
	first := &scripted{script: []step{{err: overloaded}}}
	second := &scripted{script: []step{{raw: "hi", content: "hi"}}}
	p := twoTargets(first, second, upstream.Options{Retries: -1, BreakerFailures: 2, BreakerCooldown: time.Hour})
	for range 4 {
		s, err := p.ChatStream(t.Context(), &lyumen.Request{Model: publicModel})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := readAll(s); err != nil || len(got) != 1 {
			t.Fatalf("events %q, err %v", got, err)
		}
		s.Close()
	}
	if first.opened != 2 {
		t.Errorf("the failing target was asked %d times, want 2: then its breaker rests it", first.opened)
	}
}

// TestPool_StreamClientLeavesWhileHeld: a client that leaves before the
// answer began says nothing of the upstream: no fallback, and a half-open
// breaker's trial is released for the next request.
func TestPool_StreamClientLeavesWhileHeld(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	first := &scripted{script: []step{{err: overloaded}}}
	catalog := lyumen.NewCatalog([]lyumen.Model{{Name: publicModel, Targets: []lyumen.Target{{Provider: "first", Model: "a"}}}})
	now := time.Now()
	p := upstream.NewWithOptions(catalog, map[string]lyumen.Provider{"first": first},
		upstream.Options{Retries: -1, BreakerFailures: 1, BreakerCooldown: time.Minute, Now: func() time.Time { return now }})
	s, err := p.ChatStream(ctx, &lyumen.Request{Model: publicModel})
	if err != nil {
		t.Fatal(err)
	}
	readAll(s) // the breaker opens
	s.Close()
	now = now.Add(2 * time.Minute) // half-open: the next request is the trial
	first.script = []step{{raw: "start"}, {err: context.Canceled}}
	s, err = p.ChatStream(ctx, &lyumen.Request{Model: publicModel})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if got, err := readAll(s); !errors.Is(err, context.Canceled) || len(got) != 0 {
		t.Errorf("events %q, err %v; want none (the client left), and its cancellation", got, err)
	}
	s.Close()
	first.script = []step{{raw: "hi", content: "hi"}}
	s, err = p.ChatStream(t.Context(), &lyumen.Request{Model: publicModel})
	if err != nil {
		t.Fatalf("after a trial whose client left: %v; want another trial", err)
	}
	s.Close()
	if first.opened != 3 {
		t.Errorf("opened %d streams, want 3", first.opened)
	}
}

// queued is a provider whose streams play one script each, in turn.
type queued struct{ scripts [][]step }

func (p *queued) Chat(context.Context, *lyumen.Request) (*lyumen.Response, error) {
	return nil, errors.New("not used")
}

func (p *queued) ChatStream(context.Context, *lyumen.Request) (lyumen.Stream, error) {
	s := p.scripts[0]
	p.scripts = p.scripts[1:]
	return &script{steps: s}, nil
}

// TestPool_StaleTrialDoesNotEndTheNext: a stream settles when its answer
// begins, long after it opened. A half-open trial whose breaker another
// stream's failure reopened meanwhile is over; when its client leaves
// later, it must not end the next trial, or a second trial starts beside
// that one.
func TestPool_StaleTrialDoesNotEndTheNext(t *testing.T) {
	q := &queued{scripts: [][]step{
		{{err: overloaded}},          // x: opened while the breaker is closed, fails later
		{{err: overloaded}},          // opens the breaker
		{{err: context.Canceled}},    // the first trial, whose client leaves
		{{raw: "hi", content: "hi"}}, // the second trial
		{{raw: "hi", content: "hi"}}, // must not be asked
	}}
	catalog := lyumen.NewCatalog([]lyumen.Model{{Name: publicModel, Targets: []lyumen.Target{{Provider: "only", Model: "a"}}}})
	now := time.Now()
	p := upstream.NewWithOptions(catalog, map[string]lyumen.Provider{"only": q},
		upstream.Options{Retries: -1, BreakerFailures: 1, BreakerCooldown: time.Minute, Now: func() time.Time { return now }})
	open := func(ctx context.Context) lyumen.Stream {
		t.Helper()
		s, err := p.ChatStream(ctx, &lyumen.Request{Model: publicModel})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	x := open(t.Context())
	defer x.Close()
	s := open(t.Context())
	readAll(s) // the breaker opens
	s.Close()
	now = now.Add(2 * time.Minute)
	ctx, leave := context.WithCancel(t.Context())
	trial1 := open(ctx)
	readAll(x) // fails before its answer: the breaker opens again
	now = now.Add(2 * time.Minute)
	trial2 := open(t.Context())
	defer trial2.Close()
	leave()
	readAll(trial1)
	trial1.Close()
	if s, err := p.ChatStream(t.Context(), &lyumen.Request{Model: publicModel}); err == nil {
		s.Close()
		t.Errorf("a request went to the target while its trial was under way")
	}
}

// TestPool_StreamFallbackClosesTheFailedStream: a stream left for the
// next target is closed then, not when the client closes the one it was
// given: its connection goes back to the transport at once.
func TestPool_StreamFallbackClosesTheFailedStream(t *testing.T) {
	first := &scripted{script: []step{{raw: "a-start"}, {err: overloaded}}}
	second := &scripted{script: []step{{raw: "b-hi", content: "hi"}}}
	p := twoTargets(first, second, upstream.Options{Retries: -1})
	s, err := p.ChatStream(t.Context(), &lyumen.Request{Model: publicModel})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, err := readAll(s); err != nil || len(got) != 1 {
		t.Fatalf("events %q, err %v; want the second target's one", got, err)
	}
	if !first.streams[0].closed {
		t.Error("the first target's stream is still open after the request moved on")
	}
}

// TestPool_StreamFallbackEndsInTheRouteError: a stream whose targets all
// failed before its answer ends in the error the route settled on, as a
// request whose streams failed to open would: a later target's refusal or
// timeout, not the first target's failure.
func TestPool_StreamFallbackEndsInTheRouteError(t *testing.T) {
	timeout := &lyumen.Error{Kind: lyumen.KindTimeout, Message: "the upstream did not answer in time"}
	for _, tc := range []struct {
		name   string
		second error // the second target's error to open
	}{
		{"the second refuses the request", refused},
		{"the second times out", timeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first := &scripted{script: []step{{raw: "a-start"}, {err: overloaded}}}
			second := &provider{name: "second", fail: failWith(tc.second)}
			p := twoTargets(first, second, upstream.Options{Retries: -1})
			s, err := p.ChatStream(t.Context(), &lyumen.Request{Model: publicModel})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if got, err := readAll(s); !errors.Is(err, tc.second) || len(got) != 0 {
				t.Errorf("events %q, err %v; want none, then %v", got, err, tc.second)
			}
		})
	}
}

// TestPool_StreamClosedBeforeItsAnswer: a stream closed before its first
// event (its client left as the headers went out) is an attempt that
// proved nothing: recorded as such, and a half-open breaker's trial is
// released for the next request, not held for ever.
func TestPool_StreamClosedBeforeItsAnswer(t *testing.T) {
	first := &scripted{script: []step{{err: overloaded}}}
	catalog := lyumen.NewCatalog([]lyumen.Model{{Name: publicModel, Targets: []lyumen.Target{{Provider: "first", Model: "a"}}}})
	now := time.Now()
	p := upstream.NewWithOptions(catalog, map[string]lyumen.Provider{"first": first},
		upstream.Options{Retries: -1, BreakerFailures: 1, BreakerCooldown: time.Minute, Now: func() time.Time { return now }})
	s, err := p.ChatStream(t.Context(), &lyumen.Request{Model: publicModel})
	if err != nil {
		t.Fatal(err)
	}
	readAll(s) // the breaker opens
	s.Close()
	now = now.Add(2 * time.Minute) // half-open: the next request is the trial
	first.script = []step{{raw: "hi", content: "hi"}}
	var attempts []string
	s, err = p.ChatStream(t.Context(), &lyumen.Request{Model: publicModel, OnAttempt: func(a lyumen.Attempt) {
		attempts = append(attempts, a.Error)
	}})
	if err != nil {
		t.Fatal(err)
	}
	s.Close() // before any Next
	if len(attempts) != 1 || attempts[0] == "" {
		t.Errorf("attempts %q, want one that failed", attempts)
	}
	s, err = p.ChatStream(t.Context(), &lyumen.Request{Model: publicModel})
	if err != nil {
		t.Fatalf("after a trial closed before its answer: %v; want another trial", err)
	}
	s.Close()
	if first.opened != 3 {
		t.Errorf("opened %d streams, want 3", first.opened)
	}
}

// TestPool_StreamReady: Ready says whether Next would not wait on the
// network: false while the stream may still fall back (Next reads on
// until the answer begins), true while held events wait to be passed on,
// then the stream's own.
func TestPool_StreamReady(t *testing.T) {
	first := &scripted{script: []step{
		{raw: "start", buffered: true}, {raw: "hi", content: "hi"}, {raw: "more", content: " more"}, {raw: "end", content: "!", buffered: true}}}
	catalog := lyumen.NewCatalog([]lyumen.Model{{Name: publicModel, Targets: []lyumen.Target{{Provider: "first", Model: "a"}}}})
	p := upstream.NewWithOptions(catalog, map[string]lyumen.Provider{"first": first}, upstream.Options{Retries: -1})
	s, err := p.ChatStream(t.Context(), &lyumen.Request{Model: publicModel})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ready := s.(interface{ Ready() bool })
	got := []string{fmt.Sprintf("before: %v", ready.Ready())}
	for {
		ev, err := s.Next()
		if err != nil {
			break
		}
		got = append(got, fmt.Sprintf("%s: %v", ev.Raw, ready.Ready()))
	}
	want := []string{
		"before: false", // the next event is buffered, but Next would read on to the answer
		"start: true",   // "hi" is held, though the stream has nothing buffered
		"hi: false",     // the stream has nothing buffered
		"more: true",    // the stream has "end" buffered
		"end: false",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Ready after each event (-want +got):\n%s", diff)
	}
}

// turns is a provider that answers each ChatStream with the next turn: an
// error to open, or a stream playing a script.
type turns struct{ turns []turn }

type turn struct {
	err    error
	script []step
}

func (p *turns) Chat(context.Context, *lyumen.Request) (*lyumen.Response, error) {
	return nil, errors.New("not used")
}

func (p *turns) ChatStream(context.Context, *lyumen.Request) (lyumen.Stream, error) {
	t := p.turns[0]
	p.turns = p.turns[1:]
	if t.err != nil {
		return nil, t.err
	}
	return &script{steps: t.script}, nil
}

// TestPool_StreamFallbackInARetryRound: a stream that fails before its
// answer in a retry round moves on to the round's next target at once:
// the round's backoff was waited before it began, not again.
func TestPool_StreamFallbackInARetryRound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		down := &lyumen.Error{Kind: lyumen.KindUpstream, Status: http.StatusServiceUnavailable}
		first := &turns{turns: []turn{{err: down}, {script: []step{{raw: "a-start"}, {err: overloaded}}}}}
		second := &turns{turns: []turn{{err: down}, {script: []step{{raw: "b-hi", content: "hi"}}}}}
		p := twoTargets(first, second, upstream.Options{Retries: 1, Backoff: 250 * time.Millisecond})
		start := time.Now()
		s, err := p.ChatStream(t.Context(), &lyumen.Request{Model: publicModel})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if got, err := readAll(s); err != nil || len(got) != 1 || got[0] != "b-hi" {
			t.Fatalf("events %q, err %v; want the second target's answer", got, err)
		}
		if waited := time.Since(start); waited != 250*time.Millisecond {
			t.Errorf("waited %v, want one backoff (250ms)", waited)
		}
	})
}
