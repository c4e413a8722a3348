package spool_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/spool"
)

// TestSpool_ProgressCopyAfterARecordInFlight: append counts a record in
// Spool.ending only when its exchange is in s.open, i.e. when a progress of
// it is durable at the moment the record is appended. A progress whose
// group is still being written (its caller gone on its context's deadline,
// as httpapi's progress.keep uses RecordTimeout, or simply another
// goroutine) is not: the record R goes into the next group uncounted. Then
// the progress's group becomes durable (open[id] = its gen), R's group
// seals the progress's segment, and while R's fsync runs the shipper
// retires that segment and copies the progress: ending[id] is 0, so the
// copy is taken, behind R. R is durable (open loses the id), the copy is
// durable, the original goes. The log holds R, then a copy of the progress:
// the next start records the cleanly ended exchange as interrupted.
func TestSpool_ProgressCopyAfterARecordInFlight(t *testing.T) {
	dir := t.TempDir()
	st := newStore()
	o := spool.Options{SegmentBytes: 8 << 10, Linger: -1}
	s := mustOpen(t, dir, st, o)
	hold := holdSyncs(s)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	recordN(t, s, 0, 3) // the progress is the lesser part of its segment: copied, not kept
	rec := full(id(1000))
	rec.Request = []byte(`{"messages":[{"role":"user","content":"` + strings.Repeat("x", 6<<10) + `"}]}`) // R does not fit after P
	p := sofar(rec, "Hel")
	p.Request = []byte(`{}`)
	first := segments(t, dir)[0]

	heldA, releaseA := hold()
	progressed := make(chan error, 1)
	go func() { progressed <- s.Progress(context.Background(), p) }()
	<-heldA // P written, its fsync running: not durable yet
	before := s.Bytes()
	recorded := make(chan error, 1)
	go func() { recorded <- s.Record(context.Background(), rec) }() // the stream ends (or fails) meanwhile
	for s.Bytes() == before {
		time.Sleep(time.Millisecond)
	}
	heldB, releaseB := hold()
	close(releaseA)                    // P durable; R's group is written next, into a new segment (sealing P's)
	<-heldB                            // R's fsync running
	time.Sleep(300 * time.Millisecond) // the shipper retires P's segment and appends a copy of P, behind R
	close(releaseB)
	if err := <-progressed; err != nil {
		t.Fatal(err)
	}
	if err := <-recorded; err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); slices.Contains(segments(t, dir), first) && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	mustClose(t, s) // a clean stop
	if got := st.byID[rec.ID]; got == nil || got.Completeness != rec.Completeness {
		t.Fatalf("the exchange's own record was not shipped: %+v", got)
	}

	next := newStore()
	s = mustOpen(t, dir, next, o)
	drain(t, s)
	mustClose(t, s)
	if got := next.byID[rec.ID]; got != nil && got.Completeness == lyumen.Interrupted {
		t.Errorf("the next start recorded the cleanly ended exchange as interrupted (%q)", got.Error)
	}
}
