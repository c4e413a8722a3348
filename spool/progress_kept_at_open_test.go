package spool_test

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/spool"
)

// failingStore fails every write while fail is set.
type failingStore struct {
	*store
	fail atomic.Bool
}

func (f *failingStore) WriteRecords(ctx context.Context, recs []*lyumen.Record) error {
	if f.fail.Load() {
		return errors.New("store down")
	}
	return f.store.WriteRecords(ctx, recs)
}

// TestSpool_ProgressEndedInASegmentKeptFromTheLastProcess (review 5): a
// segment A kept from the last process (pinnedAtOpen) holds the large
// progress of X, found interrupted, and the progress of Y, whose record
// is in B, not yet shipped. A's pinned entry lists only X (found), never
// Y. When recording X fails (a full disk at start is the case Open is
// written for; here a failed fsync), X stays open and A stays; B ships and
// goes without the ended file naming Y. The next Open finds Y's progress
// in A with no record, and records Y as interrupted after its real record.
func TestSpool_ProgressEndedInASegmentKeptFromTheLastProcess(t *testing.T) {
	dir := t.TempDir()
	o := spool.Options{SegmentBytes: 16 << 10, Linger: -1, DrainTimeout: 300 * time.Millisecond}
	st := &failingStore{store: newStore()}
	s := mustOpen(t, dir, st, o)

	y, x, first, i := keptSegment(t, s, dir, o)
	recordN(t, s, i, 1) // in B: once shipped, A has retired (kept for X)
	i++
	stop := runShipped(t, s)
	st.fail.Store(true) // Y's record stays in B, unshipped
	if err := s.Record(t.Context(), y); err != nil {
		t.Fatal(err)
	}
	stop()
	mustClose(t, s) // X still open: a crash
	if !slices.Contains(segments(t, dir), first) {
		t.Fatal("A was not kept for X: the test does not test what it says")
	}

	// Process 2: recording X fails (every write fails, as on a disk that
	// stays full); B (Y's record) ships and goes.
	o2 := o
	o2.MaxBackoff = time.Minute
	st2 := newStore()
	s2 := mustOpen(t, dir, st2, o2)
	spool.WrapSync(s2, func(func() error) error { return errors.New("no space left on device") })
	drain(t, s2)
	mustClose(t, s2)
	if got := st2.byID[y.ID]; got == nil || got.Completeness == lyumen.Interrupted {
		t.Fatalf("process 2 did not ship Y's real record: %+v", got)
	}
	if !slices.Contains(segments(t, dir), first) {
		t.Fatal("A was not kept for X in process 2: the test does not test what it says")
	}

	st3 := newStore()
	s3 := mustOpen(t, dir, st3, o)
	drain(t, s3)
	mustClose(t, s3)
	if st3.byID[x.ID] == nil {
		t.Errorf("X was not recorded as interrupted")
	}
	if got := st3.byID[y.ID]; got != nil {
		t.Errorf("Y, whose real record was shipped by process 2, was recorded again by process 3 as %q", got.Completeness)
	}
}
