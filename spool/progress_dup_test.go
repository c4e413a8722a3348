package spool_test

import (
	"context"
	"testing"
	"time"

	"github.com/lyumen/lyumen/spool"
)

// TestSpool_ProgressInterruptedRecordedOnce: Run's first sweep records what Open
// found interrupted. When another group's fsync is in flight, the
// interrupted record's append waits as a follower; if Run's context ends
// then, append returns ctx's error although the frame stays in the group,
// which stop() writes. found still holds the exchange, retryAt is set; in
// the drain the found exchange's segment goes (the now durable record ended
// it), which resets retryAt, and the final sweep appends a second
// interrupted record (not "ending": open no longer has the ID).
func TestSpool_ProgressInterruptedRecordedOnce(t *testing.T) {
	dir := t.TempDir()
	o := spool.Options{SegmentBytes: 8 << 10, Linger: -1, MaxBackoff: time.Minute}
	s := mustOpen(t, dir, newStore(), o)
	rec := full("x-interrupted")
	progress(t, s, sofar(rec, "Hel"))
	mustClose(t, s) // process 1 dies with the stream open

	st := newStore()
	s2 := mustOpen(t, dir, st, o)
	entered, release := make(chan struct{}), make(chan struct{})
	first := true
	spool.WrapSync(s2, func(fsync func() error) error {
		if first { // only the leader calls this, one at a time
			first = false
			close(entered)
			<-release
		}
		return fsync()
	})
	recDone := make(chan error, 1)
	go func() { recDone <- s2.Record(context.Background(), full("other")) }()
	<-entered
	before := s2.Bytes()

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s2.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for s2.Bytes() == before && time.Now().Before(deadline) { // the interrupted record is appended, waiting
		time.Sleep(time.Millisecond)
	}
	if s2.Bytes() == before {
		t.Fatal("the interrupted record was never appended")
	}
	cancel()
	time.Sleep(100 * time.Millisecond) // its append returns ctx's error
	close(release)
	if err := <-recDone; err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mustClose(t, s2)

	next := newStore()
	s3 := mustOpen(t, dir, next, o)
	drain(t, s3)
	mustClose(t, s3)
	// Process 2 drained what it wrote; process 3 ships what was left.
	n := st.dups + next.dups
	for _, x := range []*store{st, next} {
		if x.byID[rec.ID] != nil {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the interrupted exchange was shipped %d times (stores: %d, %d dups)", n, st.dups, next.dups)
	}
}
