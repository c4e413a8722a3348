package spool_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/spool"
)

// TestSpool_PinnedOutlivesTheRecord: a segment kept (pinned) for an open
// exchange's progress is deleted only by the sweep, at most once a second
// and only when the shipper is woken. Meanwhile the exchange ends, and the
// segment holding its record fills, ships and is deleted. A crash then
// leaves the progress without its record: the next start records the
// exchange as interrupted, though its record was durable and shipped.
// (An idle shipper never sweeps, so the window lasts until the next
// record, not a second.)
func TestSpool_PinnedOutlivesTheRecord(t *testing.T) {
	dir := t.TempDir()
	st := newStore()
	o := spool.Options{SegmentBytes: 8 << 10, Linger: -1}
	s := mustOpen(t, dir, st, o)
	rec := full(id(1000))
	rec.Request = []byte(`{"messages":[{"role":"user","content":"` + strings.Repeat("x", 5<<10) + `"}]}`)
	progress(t, s, sofar(rec, "Hel")) // most of its segment: kept, not copied
	recordN(t, s, 0, 3)               // seals it
	first := segments(t, dir)[0]

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	deadline := time.Now().Add(10 * time.Second)
	for n, _ := s.Pending(); n > 0 && time.Now().Before(deadline); n, _ = s.Pending() {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // the shipper's next look sweeps: the progress is live, kept
	if !slices.Contains(segments(t, dir), first) {
		t.Fatal("the segment with the open progress was not kept")
	}

	// Well within the second before the next sweep: the exchange ends,
	// and the segment with its record fills, ships and goes.
	if err := s.Record(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	segs := segments(t, dir)
	second := segs[len(segs)-1] // the active one, holding the record (the sweep the record wakes may have deleted the first)
	recordN(t, s, 3, 8)
	for slices.Contains(segments(t, dir), second) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if slices.Contains(segments(t, dir), second) {
		t.Fatal("the segment with the record was not deleted")
	}
	time.Sleep(1500 * time.Millisecond) // idle: nothing wakes the shipper, so no sweep comes
	t.Logf("at the crash: kept segment still there: %v", slices.Contains(segments(t, dir), first))

	// The process dies here: what is on disk now is what the next start sees.
	crashed := t.TempDir()
	for _, p := range append(segments(t, dir), filepath.Join(dir, "checkpoint")) {
		if b, err := os.ReadFile(p); err == nil {
			mustWrite(t, filepath.Join(crashed, filepath.Base(p)), b)
		}
	}
	st.mu.Lock()
	got := st.byID[rec.ID]
	st.mu.Unlock()
	if got == nil || got.Completeness != rec.Completeness {
		t.Fatalf("the exchange's own record was not shipped: %+v", got)
	}

	next := newStore()
	s2 := mustOpen(t, crashed, next, o)
	drain(t, s2)
	mustClose(t, s2)
	if got := next.byID[rec.ID]; got != nil && got.Completeness == lyumen.Interrupted {
		t.Errorf("the next start recorded the exchange as interrupted, though its record was durable and shipped")
	}
}
