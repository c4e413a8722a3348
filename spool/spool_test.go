package spool_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/spool"
)

func TestSpool_RoundTrip(t *testing.T) {
	if unset := unsetFields(reflect.ValueOf(full(id(0))), "Record"); len(unset) > 0 {
		t.Fatalf("full() leaves fields unset; set them, and encode them in codec.go:\n%s", strings.Join(unset, "\n"))
	}
	binary := make([]byte, 256) // every byte value, so also invalid UTF-8
	for i := range binary {
		binary[i] = byte(i)
	}
	tests := []struct {
		name string
		rec  *lyumen.Record
	}{
		{"fully populated", full(id(1))},
		{"zero values", &lyumen.Record{}},
		{"empty but present", &lyumen.Record{
			ID:       id(3),
			Request:  []byte{},
			Response: &lyumen.Response{Choices: []lyumen.Choice{{Message: lyumen.Message{ToolCalls: []lyumen.ToolCall{}, Parts: []lyumen.Part{}}}}, Usage: &lyumen.Usage{}},
			Attempts: []lyumen.Attempt{},
		}},
		{"empty response", &lyumen.Record{ID: id(4), Response: &lyumen.Response{}}},
		{"invalid UTF-8 and every byte", &lyumen.Record{
			ID: id(5), Request: binary, Error: string(binary), Model: "\xff\xfe",
			Response: &lyumen.Response{Choices: []lyumen.Choice{{Message: lyumen.Message{
				Content: string(binary), Parts: []lyumen.Part{{Type: string(binary), Data: string(binary)}},
			}}}},
		}},
		{"request larger than one read", &lyumen.Record{ID: id(6), Request: bytes.Repeat([]byte("x"), 5<<20)}},
		{"nanoseconds in a zone with odd seconds", &lyumen.Record{
			ID:         id(7),
			ReceivedAt: time.Date(2025, 6, 1, 14, 30, 45, 123456789, time.FixedZone("ODD", 2*3600+17)),
		}},
		{"negative zone without a name", &lyumen.Record{
			ID:         id(8),
			ReceivedAt: time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.FixedZone("", -5*3600)),
		}},
		{"local time", &lyumen.Record{ID: id(9), ReceivedAt: time.Date(2025, 1, 2, 3, 4, 5, 6, time.Local)}},
		{"extremes", &lyumen.Record{
			ID:         id(10),
			ReceivedAt: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
			Duration:   math.MinInt64,
			TTFT:       math.MaxInt64,
			Status:     math.MinInt,
			Usage:      lyumen.Usage{PromptTokens: math.MaxInt, CompletionTokens: -1, TotalTokens: math.MinInt, CachedTokens: math.MaxInt, ReasoningTokens: math.MinInt},
			Attempts:   []lyumen.Attempt{{Status: -1, Duration: -1}, {}},
		}},
	}

	st := newStore()
	s := mustOpen(t, t.TempDir(), st, spool.Options{})
	for _, tc := range tests {
		if err := s.Record(t.Context(), tc.rec); err != nil {
			t.Fatalf("Record(%s): %v", tc.name, err)
		}
	}
	drain(t, s)

	got := st.records()
	if len(got) != len(tests) {
		t.Fatalf("store got %d records, want %d", len(got), len(tests))
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := recordDiff(stored(tc.rec), got[i]); diff != "" {
				t.Errorf("record shipped differs (-want +got):\n%s", diff)
			}
			wantName, wantOff := tc.rec.ReceivedAt.Zone()
			gotName, gotOff := got[i].ReceivedAt.Zone()
			if wantName != gotName || wantOff != gotOff {
				t.Errorf("ReceivedAt zone = %s %+d, want %s %+d", gotName, gotOff, wantName, wantOff)
			}
			if (tc.rec.ReceivedAt.Location() == time.Local) != (got[i].ReceivedAt.Location() == time.Local) {
				t.Errorf("ReceivedAt in %v, sent in %v", got[i].ReceivedAt.Location(), tc.rec.ReceivedAt.Location())
			}
		})
	}
}

// TestSpool_CommitDelay holds a group's leader so that the next group
// gathers two records, which makes the spool busy, then records one at a
// time. Where an fsync is slow and other goroutines wait for the CPU, the
// first waits CommitDelay, and its group of one ends the busy spell, so the
// next does not. Where an fsync costs far less than the wait (any real
// disk, against 2 s), or nothing else wants the CPU, none waits.
func TestSpool_CommitDelay(t *testing.T) {
	const delay = 2 * time.Second
	for _, tc := range []struct {
		name      string
		syncCost  time.Duration
		contended bool // goroutines spin while the record waits
		wantDelay bool
	}{
		{"slow fsync, CPU contended", time.Minute, true, true},
		{"slow fsync, CPU idle", time.Minute, false, false},
		{"fast fsync, CPU contended", 0, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) { // not parallel: spinning would contend the others
			// On an idle CPU a yield can still be slow now and then (the
			// hypervisor took the CPU, the race detector), and the spool
			// rightly waits: there a record that must not wait gets three
			// tries. Where the CPU is contended, one.
			tries := 1
			if !tc.contended {
				tries = 3
			}
			var d time.Duration
			for range tries {
				d = afterPair(t, delay, tc.syncCost, tc.contended)
				if (d >= delay/2) == tc.wantDelay {
					return
				}
			}
			t.Errorf("a record right after a group of two took %v (commit delay %v), want it delayed: %v", d, delay, tc.wantDelay)
		})
	}
}

// afterPair makes a spool busy with a group of two records, then times the
// record that follows, with goroutines spinning if contended. It checks that
// the record after that, following a group of one, does not wait.
func afterPair(t *testing.T, delay, syncCost time.Duration, contended bool) time.Duration {
	t.Helper()
	hold, held := make(chan struct{}), make(chan struct{})
	var syncs atomic.Int64
	s := mustOpen(t, t.TempDir(), newStore(), spool.Options{CommitDelay: delay,
		OnSync: func(int, time.Duration) {
			if syncs.Add(1) == 1 {
				close(held)
				<-hold
			}
		}})
	spool.SetSyncCost(s, syncCost)
	record := func(i int) time.Duration {
		start := time.Now()
		if err := s.Record(t.Context(), full(id(i))); err != nil {
			t.Error(err)
		}
		return time.Since(start)
	}
	var wg sync.WaitGroup
	wg.Go(func() { record(0) })
	<-held // the first group is written; its leader waits in OnSync
	size := s.Bytes()
	wg.Go(func() { record(1) })
	for s.Bytes() == size { // joined the next group: Bytes counts it
		time.Sleep(time.Millisecond)
	}
	frame := s.Bytes() - size
	wg.Go(func() { record(2) })
	for s.Bytes() < size+2*frame {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(10 * time.Millisecond) // ... and reached its wait
	close(hold)
	wg.Wait()
	runtime.GC() // no collection due while the record yields
	stop := spin(contended)
	took := make(chan time.Duration, 1)
	go func() { took <- record(3) }()
	// The record's leader has yielded by then (spinners are
	// preempted every 10 ms); spinning through a 2 s wait would
	// only starve tests running beside this one.
	time.Sleep(100 * time.Millisecond)
	stop()
	d := <-took
	if d := record(4); d > delay/2 {
		t.Errorf("a record after a group of one took %v (commit delay %v)", d, delay)
	}
	drain(t, s)
	return d
}

// spin, when on, keeps four goroutines a CPU running until the returned
// stop is called: some wait in every run queue, whichever the caller's
// yield looks in.
func spin(on bool) (stop func()) {
	if !on {
		return func() {}
	}
	var done atomic.Bool
	var wg sync.WaitGroup
	for range 4 * runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for !done.Load() {
			}
		})
	}
	// Long enough for the scheduler to preempt some (every 10 ms) into the
	// global run queue, where a yield looks too.
	time.Sleep(50 * time.Millisecond)
	return func() { done.Store(true); wg.Wait() }
}

func TestSpool_GroupCommit(t *testing.T) {
	const n = 500
	var syncs, synced, entered atomic.Int64
	st := newStore()
	// The first group's leader is held in OnSync until every caller is in
	// Record and the spool's size (which counts records joining a group)
	// has stopped growing: how many records an fsync covers then depends
	// on group commit, not on how the scheduler of a loaded machine (CI
	// runs packages in parallel, under -race) spreads the callers out.
	var first sync.Once
	var s *spool.Spool
	s = mustOpen(t, t.TempDir(), st, spool.Options{OnSync: func(records int, _ time.Duration) {
		first.Do(func() {
			for entered.Load() < n {
				time.Sleep(time.Millisecond)
			}
			for still := 0; still < 5; {
				size := s.Bytes()
				time.Sleep(20 * time.Millisecond)
				if s.Bytes() == size {
					still++
				} else {
					still = 0
				}
			}
		})
		syncs.Add(1)
		synced.Add(int64(records))
	}})

	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			entered.Add(1)
			if err := s.Record(t.Context(), full(id(i))); err != nil {
				t.Error(err)
			}
		})
	}
	close(start)
	wg.Wait()

	t.Logf("%d concurrent records took %d fsyncs", n, syncs.Load())
	if got := synced.Load(); got != n {
		t.Errorf("fsyncs covered %d records, want %d", got, n)
	}
	if got := syncs.Load(); got > n/10 {
		t.Errorf("%d concurrent records took %d fsyncs, want at most %d", n, got, n/10)
	}
	if recs, _ := s.Pending(); recs != n {
		t.Errorf("Pending() = %d records, want %d", recs, n)
	}
	drain(t, s)
	if got := len(st.records()); got != n {
		t.Errorf("store got %d records, want %d", got, n)
	}
}

// TestSpool_RecordWaitsForItsFsync: Record returns only once the group
// its record was written in has been fsynced, and a group costs one fsync
// whatever its size. The fsyncs are held here (spool.WrapSync), one at a
// time: while the first, of record a alone, is held, a returns no more
// than the n records that arrive meanwhile, which wait as one group; that
// group is written with one fsync, and its records return once it is let
// go. (OnSync, which the other tests watch, is told after the fsync
// whether or not there was one: only this test sees the fsync itself.)
// Fails if write skips the fsync, or if Record returns before it (a lost
// record after a crash, although the client got its answer); and if a
// group is fsynced record by record, or records wait for a later group.
func TestSpool_RecordWaitsForItsFsync(t *testing.T) {
	const n = 20
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var groups []int // records per group, as OnSync was told
		s := mustOpen(t, dir, newStore(), spool.Options{OnSync: func(records int, _ time.Duration) {
			mu.Lock()
			groups = append(groups, records)
			mu.Unlock()
		}})
		proceed := make(chan struct{}) // one send lets one fsync happen
		stop := make(chan struct{})    // closed when the test ends: all go
		t.Cleanup(func() { close(stop) })
		var syncs atomic.Int64
		spool.WrapSync(s, func(fsync func() error) error {
			syncs.Add(1)
			select {
			case <-proceed:
			case <-stop:
			}
			return fsync()
		})
		let := func() { // after synctest.Wait: an fsync is held, or never came
			t.Helper()
			select {
			case proceed <- struct{}{}:
			default:
				t.Fatal("no fsync is held to let go")
			}
		}
		check := func(step string, wantSyncs int64, done chan error, wantDone int) {
			t.Helper()
			synctest.Wait()
			if got := syncs.Load(); got != wantSyncs {
				t.Errorf("%s: %d fsyncs, want %d", step, got, wantSyncs)
			}
			if got := len(done); got != wantDone {
				t.Errorf("%s: %d calls of Record returned, want %d", step, got, wantDone)
			}
		}

		doneA := make(chan error, 1)
		go func() { doneA <- s.Record(t.Context(), full("a")) }()
		check("a's fsync held", 1, doneA, 0)

		doneB := make(chan error, n)
		for i := range n {
			go func() { doneB <- s.Record(t.Context(), full(id(i))) }()
		}
		check("a's fsync held, n more records waiting", 1, doneB, 0)

		let() // a's fsync
		check("a's fsync done, the group's held", 2, doneA, 1)
		for range len(doneA) {
			if err := <-doneA; err != nil {
				t.Errorf("Record(a) = %v", err)
			}
		}
		check("the group's fsync held", 2, doneB, 0)

		let() // the group's
		check("the group's fsync done", 2, doneB, n)
		for range len(doneB) {
			if err := <-doneB; err != nil {
				t.Errorf("Record = %v", err)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if diff := cmp.Diff([]int{1, n}, groups); diff != "" {
			t.Errorf("records per fsync (-want +got):\n%s", diff)
		}
	})
}

// A record waits up to Linger for others to join its batch, unless
// ShipNow says not to: the store gets it at once, whether ShipNow comes
// during the wait or before it.
func TestSpool_ShipNow(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before bool // ShipNow before the record, not while it lingers
	}{
		{"while lingering", false},
		{"before", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const linger = 10 * time.Second
				st := newStore()
				s := mustOpen(t, t.TempDir(), st, spool.Options{Linger: linger})
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan error, 1)
				go func() { done <- s.Run(ctx) }()
				synctest.Wait()

				start := time.Now()
				if tc.before {
					s.ShipNow()
				}
				recordN(t, s, 0, 1)
				synctest.Wait()
				if !tc.before {
					if n := len(st.ids()); n != 0 {
						t.Fatalf("%d records stored before the linger, want 0", n)
					}
					s.ShipNow()
					synctest.Wait()
				}
				if n := len(st.ids()); n != 1 || time.Since(start) >= linger {
					t.Errorf("%d records stored after %v, want 1 before the %v linger", n, time.Since(start), linger)
				}
				cancel()
				if err := <-done; err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

func TestSpool_Replay(t *testing.T) {
	tests := []struct {
		name string
		o    spool.Options
	}{
		{"one segment", spool.Options{}},
		{"many segments", spool.Options{SegmentBytes: 8 << 10}},
		{"small batches", spool.Options{SegmentBytes: 8 << 10, BatchSize: 7}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const n = 100
			dir := t.TempDir()
			s := mustOpen(t, dir, newStore(), tc.o)
			want := recordN(t, s, 0, n)
			mustClose(t, s)

			st := newStore()
			s = mustOpen(t, dir, st, tc.o)
			if recs, _ := s.Pending(); recs != n {
				t.Errorf("Pending() after reopening = %d records, want %d", recs, n)
			}
			drain(t, s)
			if diff := cmp.Diff(ids(want), st.ids()); diff != "" {
				t.Errorf("ids shipped (-want +got):\n%s", diff)
			}
			if diff := recordsDiff(want, st.records()); diff != "" {
				t.Errorf("records shipped (-want +got):\n%s", diff)
			}
			if st.dups != 0 {
				t.Errorf("store saw %d records twice, want none", st.dups)
			}
			if recs, b := s.Pending(); recs != 0 || b != 0 {
				t.Errorf("Pending() after draining = %d records, %d bytes, want 0, 0", recs, b)
			}
			mustClose(t, s)
			if segs := segments(t, dir); len(segs) > 1 {
				t.Errorf("after shipping everything %d segments are left, want at most the active one", len(segs))
			}
		})
	}
}

func TestSpool_NoReshipAfterRestart(t *testing.T) {
	dir := t.TempDir()
	st := newStore()
	s := mustOpen(t, dir, st, spool.Options{SegmentBytes: 8 << 10})
	first := recordN(t, s, 0, 50)
	drain(t, s)
	mustClose(t, s)

	s = mustOpen(t, dir, st, spool.Options{SegmentBytes: 8 << 10})
	if recs, _ := s.Pending(); recs != 0 {
		t.Errorf("Pending() after a clean restart = %d records, want 0", recs)
	}
	second := recordN(t, s, 50, 30)
	mustClose(t, s) // not shipped

	s = mustOpen(t, dir, st, spool.Options{SegmentBytes: 8 << 10})
	drain(t, s)
	if diff := cmp.Diff(ids(append(first, second...)), st.ids()); diff != "" {
		t.Errorf("ids shipped (-want +got):\n%s", diff)
	}
	if st.dups != 0 {
		t.Errorf("store saw %d records twice, want none", st.dups)
	}
	mustClose(t, s)
	if segs := segments(t, dir); len(segs) != 0 {
		t.Errorf("segments left after everything shipped and a restart: %v", segs)
	}
}

func TestSpool_ReshipTolerated(t *testing.T) {
	t.Run("crash after the store committed", func(t *testing.T) {
		dir := t.TempDir()
		s := mustOpen(t, dir, newStore(), spool.Options{})
		want := recordN(t, s, 0, 40)
		mustClose(t, s)
		snapshot := readFiles(t, dir)

		st := newStore()
		s = mustOpen(t, dir, st, spool.Options{})
		drain(t, s)
		mustClose(t, s)
		// The process died before the spool deleted anything or wrote its
		// checkpoint: the disk is as before.
		os.Remove(filepath.Join(dir, "checkpoint"))
		writeFiles(t, dir, snapshot)

		s = mustOpen(t, dir, st, spool.Options{})
		drain(t, s)
		if diff := cmp.Diff(ids(want), st.ids()); diff != "" {
			t.Errorf("ids stored (-want +got):\n%s", diff)
		}
		if st.dups != len(want) {
			t.Errorf("store saw %d records twice, want %d", st.dups, len(want))
		}
	})
	t.Run("store commits but reports an error", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			st := newStore()
			st.after = func(call int) error {
				if call <= 2 {
					return errors.New("connection reset after commit")
				}
				return nil
			}
			s := mustOpen(t, t.TempDir(), st, spool.Options{BatchSize: 10})
			want := recordN(t, s, 0, 25)
			drain(t, s)
			if diff := cmp.Diff(ids(want), st.ids()); diff != "" {
				t.Errorf("ids stored (-want +got):\n%s", diff)
			}
			if st.dups != 20 {
				t.Errorf("store saw %d records twice, want 20 (two batches of 10 sent again)", st.dups)
			}
		})
	})
}

func TestSpool_StoreDownThenRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const down = 30 * time.Second
		start := time.Now()
		var calls []time.Duration // when the store was called, since start
		st := newStore()
		st.before = func(int) error {
			calls = append(calls, time.Since(start))
			if time.Since(start) < down {
				return errors.New("connection refused")
			}
			return nil
		}
		s := mustOpen(t, t.TempDir(), st, spool.Options{SegmentBytes: 16 << 10, BatchSize: 20})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()

		var want []*lyumen.Record
		for i := range 10 { // records keep coming while the store is down
			want = append(want, recordN(t, s, i*20, 20)...)
			time.Sleep(2 * time.Second)
		}
		time.Sleep(down)
		synctest.Wait()

		if diff := cmp.Diff(ids(want), st.ids()); diff != "" {
			t.Errorf("ids stored, in order (-want +got):\n%s", diff)
		}
		if diff := recordsDiff(want, st.records()); diff != "" {
			t.Errorf("records stored (-want +got):\n%s", diff)
		}
		if recs, _ := s.Pending(); recs != 0 {
			t.Errorf("Pending() = %d records, want 0", recs)
		}
		// Retries back off and the backoff is capped.
		var waits []time.Duration
		for i := 1; i < len(calls) && calls[i] < down; i++ {
			waits = append(waits, calls[i]-calls[i-1])
		}
		if len(waits) < 5 {
			t.Fatalf("store called %d times while down, want more", len(waits)+1)
		}
		for i, w := range waits {
			if w > 5*time.Second {
				t.Errorf("retry %d came after %v, want at most 5s", i+1, w)
			}
		}
		if waits[1] <= waits[0] || waits[len(waits)-1] != 5*time.Second {
			t.Errorf("waits between retries %v: want them to grow to 5s", waits)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

func TestSpool_Full(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const maxBytes = 64 << 10
		st := newStore()
		s := mustOpen(t, t.TempDir(), st, spool.Options{MaxBytes: maxBytes})

		var taken int
		for {
			wasFull := s.Full()
			err := s.Record(t.Context(), full(id(taken)))
			if errors.Is(err, spool.ErrFull) {
				if !wasFull && taken > 0 {
					t.Errorf("Full() = false before record %d, which found no room", taken)
				}
				break
			}
			if wasFull {
				t.Errorf("Full() = true before record %d, which fitted", taken)
			}
			if err != nil {
				t.Fatalf("record %d: %v", taken, err)
			}
			if taken++; taken > 1000 {
				t.Fatal("1000 records taken by a spool of 64 KiB, want ErrFull")
			}
		}
		if b := s.Bytes(); b > maxBytes {
			t.Errorf("Bytes() = %d at the cap, want at most %d", b, maxBytes)
		}
		if !s.Full() {
			t.Error("Full() = false at the cap")
		}
		if recs, _ := s.Pending(); recs != int64(taken) {
			t.Errorf("Pending() = %d records, want %d", recs, taken)
		}
		huge := &lyumen.Record{ID: "huge", Request: make([]byte, maxBytes/2)}
		if err := s.Record(t.Context(), huge); err == nil || errors.Is(err, spool.ErrFull) {
			t.Errorf("Record(larger than half the cap) = %v, want an error other than ErrFull", err)
		}

		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		synctest.Wait() // shipped, and shipped segments deleted

		if b := s.Bytes(); b > maxBytes/2 {
			t.Errorf("Bytes() = %d after shipping, want at most %d", b, maxBytes/2)
		}
		if s.Full() {
			t.Error("Full() = true after shipping freed half the spool")
		}
		more := taken / 2 // fits in the room freed, whether or not shipping keeps up
		for i := range more {
			if err := s.Record(t.Context(), full(id(taken+i))); err != nil {
				t.Fatalf("record %d after shipping: %v", i, err)
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if got := len(st.records()); got != taken+more {
			t.Errorf("store got %d records, want %d", got, taken+more)
		}
	})
}

func TestSpool_ShutdownWithStoreDown(t *testing.T) {
	tests := []struct {
		name  string
		write func(ctx context.Context) error
	}{
		{"store refuses", func(context.Context) error { return errors.New("connection refused") }},
		{"store hangs", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const drainTimeout = 3 * time.Second
			dir := t.TempDir()
			var want []*lyumen.Record
			synctest.Test(t, func(t *testing.T) {
				down := writerFunc(func(ctx context.Context, _ []*lyumen.Record) error { return tc.write(ctx) })
				s := mustOpen(t, dir, down, spool.Options{DrainTimeout: drainTimeout})
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan error, 1)
				go func() { done <- s.Run(ctx) }()
				want = recordN(t, s, 0, 30)
				time.Sleep(7 * time.Second)

				cancel()
				stopped := time.Now()
				if err := <-done; err != nil {
					t.Fatal(err)
				}
				if d := time.Since(stopped); d > drainTimeout {
					t.Errorf("Run returned %v after its context ended, want at most %v", d, drainTimeout)
				}
				if err := s.Record(t.Context(), full("late")); !errors.Is(err, spool.ErrClosed) {
					t.Errorf("Record after shutdown = %v, want ErrClosed", err)
				}
				if recs, _ := s.Pending(); recs != int64(len(want)) {
					t.Errorf("Pending() after shutdown = %d records, want %d", recs, len(want))
				}
				mustClose(t, s)
			})

			st := newStore()
			s := mustOpen(t, dir, st, spool.Options{})
			drain(t, s)
			if diff := cmp.Diff(ids(want), st.ids()); diff != "" {
				t.Errorf("ids shipped on the next start (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSpool_Lifecycle(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, newStore(), spool.Options{})
	if _, err := spool.Open(dir, newStore(), spool.Options{}); err == nil {
		t.Error("second Open of a spool in use succeeded, want an error")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Record(ctx, full(id(1))); !errors.Is(err, context.Canceled) {
		t.Errorf("Record with a canceled context = %v, want context.Canceled", err)
	}
	drain(t, s)
	if err := s.Run(t.Context()); err == nil {
		t.Error("second Run succeeded, want an error")
	}
	if err := s.Record(t.Context(), full(id(2))); !errors.Is(err, spool.ErrClosed) {
		t.Errorf("Record after Run returned = %v, want ErrClosed", err)
	}
	mustClose(t, s)
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}

	s = mustOpen(t, dir, newStore(), spool.Options{})
	mustClose(t, s)
	if err := s.Record(t.Context(), full(id(3))); !errors.Is(err, spool.ErrClosed) {
		t.Errorf("Record after Close = %v, want ErrClosed", err)
	}
	if err := s.Run(t.Context()); err == nil {
		t.Error("Run after Close succeeded, want an error")
	}
}

func TestSpool_UnknownVersion(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, newStore(), spool.Options{})
	recordN(t, s, 0, 3)
	mustClose(t, s)
	path := segments(t, dir)[0]
	b := mustRead(t, path)
	b[7] = 99 // the version byte after the magic
	mustWrite(t, path, b)

	if _, err := spool.Open(dir, newStore(), spool.Options{}); err == nil {
		t.Fatal("Open with a segment of an unknown version succeeded, want an error")
	}
	if got := mustRead(t, path); !bytes.Equal(got, b) {
		t.Error("Open changed a segment of an unknown version")
	}
}

// store is a Writer that keeps records by ID, as a real store does.
// TestSpool_SilentStoreTimesOut: a WriteRecords that never returns (a
// store connection gone silent) is given up after WriteTimeout, and the
// batch is written again.
func TestSpool_SilentStoreTimesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newStore()
		var calls atomic.Int32
		w := writerFunc(func(ctx context.Context, recs []*lyumen.Record) error {
			if calls.Add(1) == 1 {
				<-ctx.Done() // only a deadline ends the wait
				return ctx.Err()
			}
			return st.WriteRecords(ctx, recs)
		})
		s := mustOpen(t, t.TempDir(), w, spool.Options{})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()

		want := recordN(t, s, 0, 3)
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if diff := cmp.Diff(ids(want), st.ids()); diff != "" {
			t.Errorf("ids stored two minutes after a write went silent (-want +got):\n%s", diff)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

type store struct {
	mu     sync.Mutex
	byID   map[string]*lyumen.Record
	order  []string // ids in the order first stored
	calls  int
	dups   int
	before func(call int) error // an error here: nothing stored
	after  func(call int) error // an error here: stored, but the caller is told otherwise
}

func newStore() *store { return &store{byID: map[string]*lyumen.Record{}} }

func (st *store) WriteRecords(ctx context.Context, recs []*lyumen.Record) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.calls++
	if st.before != nil {
		if err := st.before(st.calls); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, r := range recs {
		if _, ok := st.byID[r.ID]; ok {
			st.dups++
			continue
		}
		st.byID[r.ID] = r
		st.order = append(st.order, r.ID)
	}
	if st.after != nil {
		return st.after(st.calls)
	}
	return nil
}

func (st *store) ids() []string {
	st.mu.Lock()
	defer st.mu.Unlock()
	return slices.Clone(st.order)
}

func (st *store) records() []*lyumen.Record {
	st.mu.Lock()
	defer st.mu.Unlock()
	recs := make([]*lyumen.Record, len(st.order))
	for i, id := range st.order {
		recs[i] = st.byID[id]
	}
	return recs
}

type writerFunc func(ctx context.Context, recs []*lyumen.Record) error

func (f writerFunc) WriteRecords(ctx context.Context, recs []*lyumen.Record) error {
	return f(ctx, recs)
}

func testLogger(tb testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tb.Output(), nil))
}

func mustOpen(tb testing.TB, dir string, w spool.Writer, o spool.Options) *spool.Spool {
	tb.Helper()
	if o.Logger == nil {
		o.Logger = testLogger(tb)
	}
	s, err := spool.Open(dir, w, o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func mustClose(tb testing.TB, s *spool.Spool) {
	tb.Helper()
	if err := s.Close(); err != nil {
		tb.Fatal(err)
	}
}

// drain runs Run with a context that has already ended: it ships every
// record (as shutdown does) and returns.
func drain(tb testing.TB, s *spool.Spool) {
	tb.Helper()
	ctx, cancel := context.WithCancel(tb.Context())
	cancel()
	if err := s.Run(ctx); err != nil {
		tb.Fatal(err)
	}
}

// recordN records n full records with ids first, first+1, …, one by one.
func recordN(tb testing.TB, s *spool.Spool, first, n int) []*lyumen.Record {
	tb.Helper()
	recs := make([]*lyumen.Record, n)
	for i := range recs {
		recs[i] = full(id(first + i))
		recs[i].ReceivedAt = recs[i].ReceivedAt.Add(time.Duration(first+i) * time.Nanosecond)
		if err := s.Record(tb.Context(), recs[i]); err != nil {
			tb.Fatalf("record %d: %v", first+i, err)
		}
	}
	return recs
}

func segments(tb testing.TB, dir string) []string {
	tb.Helper()
	segs, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil {
		tb.Fatal(err)
	}
	return segs
}

func readFiles(tb testing.TB, dir string) map[string][]byte {
	tb.Helper()
	files := map[string][]byte{}
	for _, p := range segments(tb, dir) {
		files[filepath.Base(p)] = mustRead(tb, p)
	}
	return files
}

func writeFiles(tb testing.TB, dir string, files map[string][]byte) {
	tb.Helper()
	for name, b := range files {
		mustWrite(tb, filepath.Join(dir, name), b)
	}
}

func mustRead(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func mustWrite(tb testing.TB, path string, b []byte) {
	tb.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		tb.Fatal(err)
	}
}

func id(n int) string {
	return fmt.Sprintf("01970000-0000-7000-8000-%012x", n)
}

func ids(recs []*lyumen.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}

// stored returns rec as the spool gives it back: without Response.Raw.
func stored(rec *lyumen.Record) *lyumen.Record {
	c := *rec
	if c.Response != nil {
		r := *c.Response
		r.Raw = nil
		c.Response = &r
	}
	return &c
}

func recordDiff(want, got *lyumen.Record) string {
	return cmp.Diff(want, got, diffOpts...)
}

func recordsDiff(want, got []*lyumen.Record) string {
	stripped := make([]*lyumen.Record, len(want))
	for i, r := range want {
		stripped[i] = stored(r)
	}
	return cmp.Diff(stripped, got, diffOpts...)
}

var diffOpts = []cmp.Option{
	// Fast on large bodies (cmp walks a []byte element by element), and
	// still telling nil from empty; json.RawMessage is assignable, so
	// Parts is compared this way too.
	cmp.Comparer(func(a, b []byte) bool { return (a == nil) == (b == nil) && bytes.Equal(a, b) }),
	cmpopts.IgnoreFields(lyumen.Response{}, "Raw"),
}

// full returns a record with every field set, with text that trips careless
// escaping.
func full(id string) *lyumen.Record {
	return &lyumen.Record{
		ID:          id,
		ReceivedAt:  time.Date(2025, 6, 1, 12, 30, 45, 123456789, time.UTC),
		Duration:    1234567*time.Microsecond + 1,
		TTFT:        89012 * time.Microsecond,
		Surface:     lyumen.SurfaceOpenAIChat,
		Model:       "gpt-4o",
		ServedModel: "gpt-4o-2024-08-06",
		Provider:    "openai",
		Stream:      true,
		Status:      200,
		Error:       "upstream: stream reset after 3 events",
		Request:     []byte(`{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"Weather in <b>Paris</b> & Zürich? 🌦"}]}`),
		Response: &lyumen.Response{
			ID:    "chatcmpl-123",
			Model: "gpt-4o-2024-08-06",
			Choices: []lyumen.Choice{
				{
					Index: 0,
					Message: lyumen.Message{
						Role:    "assistant",
						Content: "Checking <b>both</b> & \"quoting\"\nline two: Zürich 🌦",
						ToolCalls: []lyumen.ToolCall{
							{Index: 0, ID: "call_1", Type: "function", Name: "get_weather", Arguments: `{"city":"Paris"}`},
							{Index: 1, ID: "call_2", Type: "function", Name: "get_weather", Arguments: `{"city":"Zürich"}`},
						},
						Parts:     []lyumen.Part{{Type: "text", Text: "see"}, {Type: "image", MediaType: "image/png", Data: "iVBORw0KGgo="}, {Type: "image", URL: "https://example.org/a.png"}},
						Reasoning: "The user wants the weather in two cities.",
						Refusal:   "I can't share that.",
					},
					FinishReason: "tool_calls",
				},
				{
					Index:        1,
					Message:      lyumen.Message{Role: "tool", Content: "18°C", ToolCallID: "call_1", Name: "get_weather"},
					FinishReason: "stop",
				},
			},
			Usage: &lyumen.Usage{PromptTokens: 12, CompletionTokens: 34, TotalTokens: 46, CachedTokens: 8, ReasoningTokens: 20},
			Raw:   []byte(`{"id":"chatcmpl-123"}`), // not kept
		},
		Usage:        lyumen.Usage{PromptTokens: 12, CompletionTokens: 34, TotalTokens: 46, CachedTokens: 8, ReasoningTokens: 20},
		UserAgent:    "OpenAI/Python 1.82.0",
		Country:      "DE",
		Completeness: lyumen.UpstreamFailed,
		Attempts: []lyumen.Attempt{
			{Provider: "azure", Model: "gpt-4o", Status: 429, Error: "rate limited", Duration: 35*time.Millisecond + 7},
			{Provider: "openai", Model: "gpt-4o-2024-08-06", Status: 200, Duration: 1200 * time.Millisecond},
		},
		Conversation: fullConversation(),
	}
}

func fullConversation() *lyumen.Conversation {
	temp, topP := 0.7, 0.9
	return &lyumen.Conversation{
		Messages: []lyumen.Message{
			{Role: "system", Content: "Be brief."},
			{Role: "user", Parts: []lyumen.Part{{Type: "text", Text: "What is this?"}, {Type: "image", MediaType: "image/png", Data: "iVBORw0KGgo=", URL: "https://example.org/x.png"}}},
			{Role: "assistant", Name: "bot", ToolCalls: []lyumen.ToolCall{{Index: 1, ID: "call_1", Type: "function", Name: "look", Arguments: `{"at":"it"}`}}, Reasoning: "Look first.", Refusal: "No."},
			{Role: "tool", ToolCallID: "call_1", Content: "a cat"},
		},
		Tools: []lyumen.Tool{{Name: "look", Description: "looks", Parameters: json.RawMessage(`{"type":"object"}`), Strict: new(true)},
			{Name: "see", Strict: new(false)}},
		ToolChoice:  &lyumen.ToolChoice{Mode: "tool", Name: "look"},
		MaxTokens:   256,
		Temperature: &temp,
		TopP:        &topP,
		Stop:        []string{"END"},

		FrequencyPenalty: new(0.5),
		PresencePenalty:  new(-0.25),
	}
}

// unsetFields lists the exported fields left zero in v and in every struct
// of package lyumen reachable from it, so that a field added to the record
// fails the round trip until full() sets it (and codec.go encodes it).
func unsetFields(v reflect.Value, path string) []string {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return []string{path}
		}
		return unsetFields(v.Elem(), path)
	case reflect.Struct:
		if v.Type().PkgPath() != reflect.TypeFor[lyumen.Record]().PkgPath() {
			return nil // time.Time and the like are values
		}
		var unset []string
		for i := range v.NumField() {
			f := v.Type().Field(i)
			p := path + "." + f.Name
			switch {
			case !f.IsExported():
			case v.Field(i).IsZero():
				unset = append(unset, p)
			default:
				unset = append(unset, unsetFields(v.Field(i), p)...)
			}
		}
		return unset
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.Struct {
			return nil
		}
		n := map[string]int{} // how many elements leave each field unset
		for i := range v.Len() {
			for _, p := range unsetFields(v.Index(i), path+"[]") {
				n[p]++
			}
		}
		var unset []string
		for p, k := range n {
			if k == v.Len() {
				unset = append(unset, p)
			}
		}
		slices.Sort(unset)
		return unset
	}
	return nil
}

// TestSpool_RecordCanceledWhileWaiting: a caller that gives up while its
// record waits for the fsync must not stall the records after it.
func TestSpool_RecordCanceledWhileWaiting(t *testing.T) {
	tests := []struct {
		name string
		then func(t *testing.T, s *spool.Spool)
	}{
		{"next record writes it", func(t *testing.T, s *spool.Spool) {
			if err := s.Record(t.Context(), full("c")); err != nil {
				t.Fatal(err)
			}
		}},
		{"close writes it", func(t *testing.T, s *spool.Spool) { mustClose(t, s) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			synctest.Test(t, func(t *testing.T) {
				hold := make(chan struct{})
				var syncs atomic.Int64
				s := mustOpen(t, dir, newStore(), spool.Options{OnSync: func(int, time.Duration) {
					if syncs.Add(1) == 1 {
						<-hold // the first leader stays busy
					}
				}})
				errA := make(chan error, 1)
				go func() { errA <- s.Record(t.Context(), full("a")) }()
				synctest.Wait()

				ctx, cancel := context.WithCancel(t.Context())
				errB := make(chan error, 1)
				go func() { errB <- s.Record(ctx, full("b")) }()
				synctest.Wait() // b waits for a's fsync
				cancel()
				if err := <-errB; !errors.Is(err, context.Canceled) {
					t.Errorf("Record(b) = %v, want context.Canceled", err)
				}
				close(hold) // a is done; b's group has no one left to write it
				if err := <-errA; err != nil {
					t.Fatal(err)
				}
				tc.then(t, s)
			})
			st := newStore()
			s := mustOpen(t, dir, st, spool.Options{})
			drain(t, s)
			want := []string{"a", "b", "c"}
			if tc.name == "close writes it" {
				want = want[:2]
			}
			if diff := cmp.Diff(want, st.ids()); diff != "" {
				t.Errorf("ids shipped (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSpool_RejectedRecordSetAside: a record the store rejects (say, text
// its database refuses) is found by halving the batches, set aside under
// rejected/, and skipped; every other record ships, and a restart does not
// send the rejected one again. Retrying it forever would ship nothing
// behind it until the spool filled.
func TestSpool_RejectedRecordSetAside(t *testing.T) {
	poison := map[string]bool{id(17): true, id(63): true, id(64): true}
	st := newStore()
	var rejects []string // the batches rejected, for their sizes
	w := writerFunc(func(ctx context.Context, recs []*lyumen.Record) error {
		for _, r := range recs {
			if poison[r.ID] {
				rejects = append(rejects, r.ID)
				return fmt.Errorf("insert: invalid byte sequence (SQLSTATE 22021): %w", lyumen.ErrRejected)
			}
		}
		return st.WriteRecords(ctx, recs)
	})
	dir := t.TempDir()
	var setAside []string
	shipped := 0
	s := mustOpen(t, dir, w, spool.Options{BatchSize: 40, DrainTimeout: 5 * time.Second,
		OnRejected: func(id string) { setAside = append(setAside, id) }, OnShipped: func(n int) { shipped += n }})
	all := recordN(t, s, 0, 100)
	drain(t, s)
	mustClose(t, s)

	var want []string
	for _, r := range all {
		if !poison[r.ID] {
			want = append(want, r.ID)
		}
	}
	if diff := cmp.Diff(want, st.ids()); diff != "" {
		t.Errorf("ids stored, in order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{id(17), id(63), id(64)}, setAside); diff != "" {
		t.Errorf("records set aside (-want +got):\n%s", diff)
	}
	if len(rejects) > 3*8 { // each found in about log2(BatchSize) tries
		t.Errorf("%d rejected batches to find 3 records", len(rejects))
	}
	if shipped != len(want) {
		t.Errorf("OnShipped told of %d records, want the %d stored", shipped, len(want))
	}
	if st.calls > 16 { // batches grow back once the rejected record is set aside
		t.Errorf("%d batches stored for 97 records in batches of up to 40", st.calls)
	}
	files, err := os.ReadDir(filepath.Join(dir, "rejected"))
	if err != nil || len(files) != 3 {
		t.Fatalf("rejected/ holds %d files, %v; want 3", len(files), err)
	}
	for _, f := range files { // each holds its record's frame, and only that
		b := mustRead(t, filepath.Join(dir, "rejected", f.Name()))
		var in []string
		for _, r := range all {
			if bytes.Contains(b, []byte(r.ID)) {
				in = append(in, r.ID)
			}
		}
		if len(in) != 1 || !poison[in[0]] {
			t.Errorf("rejected/%s (%d bytes) holds records %v, want one rejected", f.Name(), len(b), in)
		}
	}

	calls := st.calls
	s = mustOpen(t, dir, w, spool.Options{BatchSize: 40})
	drain(t, s)
	if n, _ := s.Pending(); n != 0 || st.calls != calls || len(rejects) > 3*8 {
		t.Errorf("after a restart: %d pending, %d more store calls; want nothing sent again", n, st.calls-calls)
	}
}

// TestSpool_NothingLostAfterIdleRestarts: a spool restarted with every
// record shipped and no segment left numbers its new segments after the
// checkpoint's, so that a later start does not take them for shipped ones
// and delete them with their records.
func TestSpool_NothingLostAfterIdleRestarts(t *testing.T) {
	dir := t.TempDir()
	st := newStore()
	s := mustOpen(t, dir, st, spool.Options{})
	want := recordN(t, s, 0, 5)
	drain(t, s)
	mustClose(t, s)
	s = mustOpen(t, dir, st, spool.Options{}) // finds its segment shipped and removes it
	drain(t, s)
	mustClose(t, s)
	if segs := segments(t, dir); len(segs) != 0 {
		t.Fatalf("segments %v after an idle restart, want none: the test proves nothing", segs)
	}

	s = mustOpen(t, dir, st, spool.Options{})
	want = append(want, recordN(t, s, 5, 5)...)
	mustClose(t, s) // not shipped: the store was down, say
	s = mustOpen(t, dir, st, spool.Options{})
	drain(t, s)
	if diff := cmp.Diff(ids(want), st.ids()); diff != "" {
		t.Errorf("ids shipped (-want +got):\n%s", diff)
	}
}

// TestSpool_FailedFsync: records whose fsync failed are not acknowledged,
// neither the leader's nor those of the records that waited in its group
// or the next, and not counted: the spool's size and pending records are
// as before them, and the records after them are written and shipped.
func TestSpool_FailedFsync(t *testing.T) {
	st := newStore()
	s := mustOpen(t, t.TempDir(), st, spool.Options{})
	var fail atomic.Bool
	held, hold := make(chan struct{}, 1), make(chan struct{})
	spool.WrapSync(s, func(fsync func() error) error {
		if !fail.Load() {
			return fsync()
		}
		select {
		case held <- struct{}{}:
		default:
		}
		<-hold
		return errors.New("input/output error")
	})
	want := recordN(t, s, 0, 3)
	before := s.Bytes()

	fail.Store(true)
	const waiting = 5
	errs := make(chan error, 1+waiting)
	go func() { errs <- s.Record(t.Context(), full("lost-0")) }()
	<-held // the leader's fsync
	frame := s.Bytes() - before
	for i := range waiting {
		go func() { errs <- s.Record(t.Context(), full(fmt.Sprintf("lost-%d", i+1))) }()
	}
	for deadline := time.Now().Add(5 * time.Second); s.Bytes() < before+(1+waiting)*frame; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d records waiting, want %d", (s.Bytes()-before)/frame-1, waiting)
		}
	}
	close(hold)
	for i := range 1 + waiting {
		if err := <-errs; err == nil {
			t.Errorf("Record %d of %d returned nil although its fsync failed", i+1, 1+waiting)
		}
	}
	fail.Store(false)
	if b := s.Bytes(); b >= before+frame { // a new segment's header may count
		t.Errorf("Bytes() = %d after failed fsyncs, want %d as before them", b, before)
	}
	if n, _ := s.Pending(); n != 3 {
		t.Errorf("Pending() = %d records after failed fsyncs, want 3", n)
	}

	want = append(want, recordN(t, s, 3, 3)...)
	drain(t, s)
	if diff := cmp.Diff(ids(want), st.ids()); diff != "" {
		t.Errorf("ids shipped (-want +got):\n%s", diff)
	}
}

// TestSpool_NotFullOnceShipped: a group written into a fresh segment can
// take it past SegmentBytes. Once everything is shipped the spool must not
// stay Full on that segment's size: a gateway refuses every request while
// it is, records nothing, and so would never seal the segment that holds
// the room.
func TestSpool_NotFullOnceShipped(t *testing.T) {
	const maxBytes = 1 << 20 // segments of 256 KiB
	st := newStore()
	s := mustOpen(t, t.TempDir(), st, spool.Options{MaxBytes: maxBytes, Linger: -1})
	hold := make(chan struct{})
	var once sync.Once
	release := func() { once.Do(func() { close(hold) }) }
	defer release()
	first := true
	spool.WrapSync(s, func(fsync func() error) error {
		if first { // the leader's group waits, so the two big records join one group
			first = false
			<-hold
		}
		return fsync()
	})
	errs := make(chan error, 3)
	go func() { errs <- s.Record(t.Context(), full(id(0))) }()
	for s.Bytes() == 0 {
		time.Sleep(time.Millisecond)
	}
	base := s.Bytes()
	big := func(i int) *lyumen.Record {
		return &lyumen.Record{ID: id(i), ReceivedAt: time.Now(), Request: make([]byte, 350<<10)}
	}
	go func() { errs <- s.Record(t.Context(), big(1)) }()
	go func() { errs <- s.Record(t.Context(), big(2)) }()
	for s.Bytes() < base+700<<10 {
		time.Sleep(time.Millisecond)
	}
	release()
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		n, _ := s.Pending()
		if n == 0 && len(st.ids()) == 3 && !s.Full() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Full() = %v with %d records pending and %d stored (Bytes %d of %d); want not full once all are stored",
				s.Full(), n, len(st.ids()), s.Bytes(), maxBytes)
		}
	}
}
