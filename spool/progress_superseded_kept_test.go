package spool_test

import (
	"slices"
	"testing"

	"github.com/lyumen/lyumen/spool"
)

// TestSpool_ProgressSupersededInAKeptSegment (review 5): as
// TestSpool_ProgressEndedInAKeptSegment, but Y has a newer progress in B
// before its record. When A retires, Y is open with a newer generation, so
// pinned.refresh drops Y's progress in A as "superseded" and never puts Y
// in ended once Y's record comes. B (with Y's newer progress and record)
// ships and goes; A stays for Z. The next Open sees Y's old progress in A,
// no record, and records Y as interrupted (from its stale "Hel").
// (B's own retirement did put Y in the file, from B's progress, but the
// file drops Y at its next rewrite once B is gone: W below forces one.)
func TestSpool_ProgressSupersededInAKeptSegment(t *testing.T) {
	dir := t.TempDir()
	o := spool.Options{SegmentBytes: 16 << 10, Linger: -1}
	st := newStore()
	s := mustOpen(t, dir, st, o)

	y, z, first, i := keptSegment(t, s, dir, o)
	progress(t, s, sofar(y, "Hello")) // Y's newer progress, in B
	recordN(t, s, i, 1)               // a record in B: once shipped, A has retired
	i++
	stop := runShipped(t, s)
	// A retired with Y open at a newer generation (superseded); kept for Z.
	if err := s.Record(t.Context(), y); err != nil { // Y ends, in B
		t.Fatal(err)
	}
	for j := 0; j < 30; j++ { // seal B
		recordN(t, s, i, 1)
		i++
	}
	// Another exchange W, with progress and record in a later segment C:
	// once B has gone, C's retirement rewrites the ended file, now
	// without Y (B's pinned entry, which listed Y, is gone; A's never did).
	w := full("w-later")
	progress(t, s, sofar(w, "Hel"))
	if err := s.Record(t.Context(), w); err != nil {
		t.Fatal(err)
	}
	for j := 0; j < 30; j++ { // seal C
		recordN(t, s, i, 1)
		i++
	}
	stop() // the drain ships B; B goes, A stays for Z
	if !slices.Contains(segments(t, dir), first) {
		t.Fatal("A was not kept for Z: the test does not test what it says")
	}
	mustClose(t, s)

	next := newStore()
	s2 := mustOpen(t, dir, next, o)
	drain(t, s2)
	mustClose(t, s2)
	if next.byID[z.ID] == nil {
		t.Errorf("Z, open when process 1 stopped, was not recorded as interrupted")
	}
	if got := next.byID[y.ID]; got != nil {
		t.Errorf("Y, whose real record was shipped by process 1, was recorded again by the next process as %q (answer %q)",
			got.Completeness, got.Response.Choices[0].Message.Content)
	}
}
