package spool_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/spool"
)

// TestSpool_CopyAfterRecordNotInterrupted: the shipper retires a segment
// holding an open exchange's progress while that exchange's record is
// being written (appended, fsync in flight). The copy is appended after
// the record, since open changes only at the flush; then the original
// progress is deleted with its segment. The log now holds the record,
// then a copy of the progress, and no progress before the record: replay
// marks an ID ended only when it met a progress before the record, so it
// takes the copy for an exchange that never ended and records it as
// interrupted at the next start, though its record was durable (and
// shipped).
func TestSpool_CopyAfterRecordNotInterrupted(t *testing.T) {
	dir := t.TempDir()
	st := newStore()
	o := spool.Options{SegmentBytes: 8 << 10, Linger: -1}
	s := mustOpen(t, dir, st, o)
	hold := holdSyncs(s)
	rec := full(id(1000))
	progress(t, s, sofar(rec, "Hel")) // ~1 KB: the lesser part of its segment, so copied, not kept
	recordN(t, s, 0, 8)               // seals the first segment
	first := segments(t, dir)[0]

	held, release := hold()
	recorded := make(chan error, 1)
	go func() { recorded <- s.Record(context.Background(), rec) }()
	<-held // the record is appended, its fsync held: not durable yet
	withRecord := s.Bytes()

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	// The shipper ships the first segment and retires it: the progress is
	// still the open exchange's latest durable one, so it is copied.
	// (A spool that does not copy a progress whose record is being written
	// never does: then the wait ends after a second.)
	wait := time.Now().Add(time.Second)
	for s.Bytes() == withRecord && time.Now().Before(wait) {
		time.Sleep(time.Millisecond)
	}
	t.Logf("progress copied while its record was being written: %v", s.Bytes() != withRecord)
	close(release)
	if err := <-recorded; err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for slices.Contains(segments(t, dir), first) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if slices.Contains(segments(t, dir), first) {
		t.Fatal("the first segment was not deleted")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mustClose(t, s) // a clean stop, even: no crash is needed
	if got := st.byID[rec.ID]; got == nil || got.Completeness != rec.Completeness {
		t.Fatalf("the exchange's own record was not shipped: %+v", got)
	}

	next := newStore()
	s = mustOpen(t, dir, next, o)
	drain(t, s)
	mustClose(t, s)
	if got := next.byID[rec.ID]; got != nil && got.Completeness == lyumen.Interrupted {
		t.Errorf("the next start recorded the exchange as interrupted (%q), though its record was durable and shipped", got.Error)
	}
}

// holdSyncs wraps s's fsync so that each call of hold arms the next fsync
// to wait: held is closed when that fsync begins, which then waits for
// release to be closed.
func holdSyncs(s *spool.Spool) (hold func() (held <-chan struct{}, release chan<- struct{})) {
	var mu sync.Mutex
	type gate struct{ held, release chan struct{} }
	var next *gate
	spool.WrapSync(s, func(fsync func() error) error {
		mu.Lock()
		g := next
		next = nil
		mu.Unlock()
		if g != nil {
			close(g.held)
			<-g.release
		}
		return fsync()
	})
	return func() (<-chan struct{}, chan<- struct{}) {
		g := &gate{make(chan struct{}), make(chan struct{})}
		mu.Lock()
		next = g
		mu.Unlock()
		return g.held, g.release
	}
}
