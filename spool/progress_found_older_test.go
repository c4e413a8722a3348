package spool_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/lyumen/lyumen/spool"
)

// TestSpool_ProgressFoundOlderInAKeptSegment: Open puts a
// leftover ID in endedAtOpen only when it has a record or the last file
// named it, never when it is found (open) at Open. But found tracks only
// an exchange's latest progress (adopt pins/early that one); its older,
// superseded progress in a shipped part or a stale segment is listed by
// no pinned entry. Once the found exchange is recorded as interrupted,
// the ended file names it only while the segment with its latest
// progress is pinned; the next rewrite drops it. If the segment with the
// older progress is kept (for another found exchange that cannot be
// recorded yet) and the segment with the interrupted record ships and
// goes, the next Open finds the older progress and records the exchange
// again, interrupted, with the stale answer.
//
// Process 1: A = X "Hel" + Z (large); B = X "Hello". A and B shipped, kept.
// Process 2 (a smaller MaxBytes: Z's interrupted record is too large for
// now, so Z stays open and A stays): X is recorded; B goes (file names
// X); W ends in a later segment, whose retirement rewrites the file
// without X; the segment with X's record goes.
// Process 3: found X's "Hel" in A with no record, not named: recorded X.
// Now a found exchange with progress left there joins the named ones once
// it is recorded. (Without that, this failed in about one run of three to
// fifteen: the order in which the found exchanges are recorded varies.)
func TestSpool_ProgressFoundOlderInAKeptSegment(t *testing.T) {
	dir := t.TempDir()
	o1 := spool.Options{SegmentBytes: 160 << 10, MaxBytes: 1 << 20, Linger: -1}
	s := mustOpen(t, dir, newStore(), o1)
	x, z := full("x-found"), full("z-big")
	z.Request = bytes.Repeat([]byte("z"), 150<<10)
	progress(t, s, sofar(x, "Hel"))
	progress(t, s, sofar(z, "Hel"))
	first := segments(t, dir)[0]
	i := 0
	for len(segments(t, dir)) < 2 {
		recordN(t, s, i, 1)
		i++
	}
	progress(t, s, sofar(x, "Hello")) // in B
	drain(t, s)                       // A and B shipped; A kept for Z
	mustClose(t, s)                   // X, Z open: a crash
	if !slices.Contains(segments(t, dir), first) {
		t.Fatal("A not kept: the test does not test what it says")
	}

	o2 := spool.Options{SegmentBytes: 16 << 10, MaxBytes: 280 << 10, Linger: -1, MaxBackoff: time.Millisecond}
	st2 := newStore()
	s2 := mustOpen(t, dir, st2, o2)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s2.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st2.mu.Lock()
		got := st2.byID[x.ID]
		st2.mu.Unlock()
		if got != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("X not recorded in process 2")
		}
		recordN(t, s2, i, 1) // each batch sweeps: retries the interrupted records
		i++
		s2.ShipNow()
		time.Sleep(5 * time.Millisecond)
	}
	// Two rounds (a copy of X's progress may have put X in the entry of
	// the segment after B): each W ends in a later segment, whose
	// retirement rewrites the file from what is pinned then.
	for r := 0; r < 3; r++ {
		w := full(fmt.Sprintf("w-later-%d", r))
		progress(t, s2, sofar(w, "Hel"))
		if err := s2.Record(t.Context(), w); err != nil {
			t.Fatal(err)
		}
		for j := 0; j < 40; j++ { // seal the segments with X's record and W
			recordN(t, s2, i, 1)
			i++
		}
		s2.ShipNow()
		for n, _ := s2.Pending(); n > 0; n, _ = s2.Pending() {
			if time.Now().After(deadline) {
				t.Fatal("not shipped")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mustClose(t, s2) // Z still open
	if !slices.Contains(segments(t, dir), first) {
		t.Fatal("A not kept in process 2: the test does not test what it says")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "ended")); bytes.Contains(b, []byte(x.ID)) {
		t.Log("the ended file still names X", segments(t, dir))
	}

	st3 := newStore()
	s3 := mustOpen(t, dir, st3, o1)
	drain(t, s3)
	mustClose(t, s3)
	if st3.byID[z.ID] == nil {
		t.Errorf("Z was not recorded as interrupted")
	}
	if got := st3.byID[x.ID]; got != nil {
		t.Errorf("X, recorded (interrupted, %q) and shipped by process 2, was recorded again by process 3 as %q with answer %q",
			"Hello", got.Completeness, got.Response.Choices[0].Message.Content)
	}
}
