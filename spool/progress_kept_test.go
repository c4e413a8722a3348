package spool_test

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/spool"
)

// TestSpool_ProgressEndedInAKeptSegment: a retired segment A is kept
// (pinned) because an open exchange Z's latest progress is more than half
// of it. A also holds the progress of exchange Y, whose record lies in a
// later segment B. B is shipped and deleted (nothing live in it) while A
// stays. The process then dies with Z open (here: drain + Close). The next
// Open read A, saw Y's progress and no record of Y (B is gone), and
// recorded Y as interrupted: an interrupted record after a real one
// shipped already. Now the ended file names Y before any segment goes,
// and Open passes over Y's progress.
func TestSpool_ProgressEndedInAKeptSegment(t *testing.T) {
	dir := t.TempDir()
	o := spool.Options{SegmentBytes: 16 << 10, Linger: -1}
	st := newStore()
	s := mustOpen(t, dir, st, o)

	y, z, _, i := keptSegment(t, s, dir, o)
	if err := s.Record(t.Context(), y); err != nil { // Y ends, its record in B (or later)
		t.Fatal(err)
	}
	for j := 0; j < 30; j++ { // seal B
		recordN(t, s, i, 1)
		i++
	}
	drain(t, s) // ships everything; A is kept for Z, B goes
	mustClose(t, s)
	if got := st.byID[y.ID]; got == nil || got.Completeness == lyumen.Interrupted {
		t.Fatalf("process 1 did not ship Y's real record: %+v", got)
	}

	next := newStore()
	s2 := mustOpen(t, dir, next, o)
	drain(t, s2)
	mustClose(t, s2)
	if next.byID[z.ID] == nil {
		t.Errorf("Z, open when process 1 stopped, was not recorded as interrupted")
	}
	if got := next.byID[y.ID]; got != nil {
		t.Errorf("Y, whose real record was shipped by process 1, was recorded again by the next process as %q", got.Completeness)
	}
}

// keptSegment fills the first segment, A, with the progress of an exchange
// y and, most of A, of an exchange big with a large request, then with
// records until A is sealed (its preallocated zeros trimmed), so that the
// next frames go to B. It returns the two exchanges' records, A's path, and
// the id number of the next record to write with recordN.
func keptSegment(t *testing.T, s *spool.Spool, dir string, o spool.Options) (y, big *lyumen.Record, first string, next int) {
	t.Helper()
	y, big = full("y-ended"), full("z-running")
	big.Request = bytes.Repeat([]byte("x"), 10<<10)
	progress(t, s, sofar(y, "Hel"))
	progress(t, s, sofar(big, "Hel"))
	if n := len(segments(t, dir)); n != 1 {
		t.Fatalf("%d segments, want both progresses in one", n)
	}
	first = segments(t, dir)[0]
	for fileSize(t, first) >= o.SegmentBytes {
		recordN(t, s, next, 1)
		next++
	}
	return y, big, first, next
}

// runShipped starts Run and returns once every record is shipped; stop
// ends Run (it drains) and waits for it.
func runShipped(t *testing.T, s *spool.Spool) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	s.ShipNow()
	deadline := time.Now().Add(10 * time.Second)
	for n, _ := s.Pending(); n > 0; n, _ = s.Pending() {
		if time.Now().After(deadline) {
			t.Fatal("not shipped")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
