package spool_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lyumen/lyumen/spool"
)

// TestSpool_ProgressFailedCopyWaits: a copy of an open progress (carry) whose
// write fails leaves a fresh, empty, sealed segment behind (write seals the
// segment of a failed write; the next write creates one). The shipper's
// next() retires that segment at once, and retire sweeps, which tries the
// copy again, which fails and leaves another empty segment, and so on:
// next() never returns. The shipper spins (a segment file made, fsynced and
// deleted, and a Warn logged, per turn) for as long as the writes fail, ships
// nothing, and Run does not return when its context ends (next never looks
// at it). A disk with a block or two free (the header fits, the frame does
// not) or a disk returning EIO is enough.
func TestSpool_ProgressFailedCopyWaits(t *testing.T) {
	dir := t.TempDir()
	o := spool.Options{SegmentBytes: 8 << 10, Linger: -1, MaxBackoff: time.Minute, DrainTimeout: time.Second}
	s := mustOpen(t, dir, newStore(), o)
	progress(t, s, sofar(full(id(1000)), "Hel")) // the lesser part of its segment: copied, not kept
	recordN(t, s, 0, 8)                          // seals the first segment
	n := failingRun(t, s)                        // from now on no write is durable
	if n > 10 {
		t.Errorf("%d failed writes in 0.5s with nothing recorded: the shipper retries the copy in a hot loop "+
			"(each failure leaves an empty sealed segment, whose retirement sweeps again)", n)
	}
}

// TestSpool_ProgressFailedInterruptedRecordWaits: the same loop through
// recordInterrupted: a failed attempt leaves an empty sealed segment; its
// deletion resets retryAt, so the next sweep (in the same retire) tries
// again at once.
func TestSpool_ProgressFailedInterruptedRecordWaits(t *testing.T) {
	dir := t.TempDir()
	o := spool.Options{SegmentBytes: 8 << 10, Linger: -1, MaxBackoff: time.Minute, DrainTimeout: time.Second}
	s := mustOpen(t, dir, newStore(), o)
	progress(t, s, sofar(full(id(1000)), "Hel"))
	mustClose(t, s) // the process dies with the stream open

	s = mustOpen(t, dir, newStore(), o)
	n := failingRun(t, s)
	if n > 10 {
		t.Errorf("%d failed writes in 0.5s with MaxBackoff 1m: recordInterrupted is retried in a hot loop", n)
	}
}

// failingRun makes every fsync of s fail from now on, runs s for half a
// second, stops it, and returns how many fsyncs failed in that half
// second. It fails t when Run does not return within 5 s of its
// context's end (the fsyncs then work again, to let it end).
func failingRun(t *testing.T, s *spool.Spool) int64 {
	t.Helper()
	var failed atomic.Int64
	var healed atomic.Bool
	spool.WrapSync(s, func(fsync func() error) error {
		if healed.Load() {
			return fsync()
		}
		failed.Add(1)
		return errors.New("input/output error")
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	time.Sleep(500 * time.Millisecond)
	n := failed.Load()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Errorf("Run did not return within 5s of its context's end: the shipper is stuck")
		healed.Store(true)
		<-done
	}
	return n
}
