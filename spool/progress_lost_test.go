package spool_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/spool"
)

// TestSpool_ProgressFoundKeptUntilRecorded: Open finds an exchange
// the last process was serving; its only progress sits in a segment that
// also holds records. Run records the interrupted exchange first, but when
// that fails (a full disk, EIO) shipping goes on, by design, to free room:
// the segment's records ship, the segment is retired, and sweep deletes it,
// since unpin only keeps progress that is in s.open, and the found
// exchange's never is. The progress now exists only in memory (s.found):
// a crash before the retry succeeds (here: the retry fails once more, and
// the process dies while the next segment ships) loses the exchange for
// good, though its client had some of its answer.
func TestSpool_ProgressFoundKeptUntilRecorded(t *testing.T) {
	dir := t.TempDir()
	o := spool.Options{SegmentBytes: 8 << 10, Linger: -1, MaxBackoff: time.Minute}
	s := mustOpen(t, dir, newStore(), o)
	rec := full(id(1000))
	progress(t, s, sofar(rec, "Hel")) // in the first segment, with records
	recordN(t, s, 0, 20)              // more than two segments
	mustClose(t, s)                   // process 1 dies with the stream open
	if n := len(segments(t, dir)); n < 3 {
		t.Fatalf("%d segments, want at least 3", n)
	}

	// Process 2: its first two writes fail (the disk is full), then it
	// dies while it ships the second segment.
	crashed := t.TempDir()
	var once sync.Once
	snap := func() {
		once.Do(func() {
			for _, p := range append(segments(t, dir), filepath.Join(dir, "checkpoint")) {
				if b, err := os.ReadFile(p); err == nil {
					mustWrite(t, filepath.Join(crashed, filepath.Base(p)), b)
				}
			}
		})
	}
	st := newStore()
	st.before = func(call int) error {
		if call == 2 { // the second segment's first batch: the first segment is gone by now
			snap()
		}
		return nil
	}
	s2 := mustOpen(t, dir, st, o)
	var fails atomic.Int64
	spool.WrapSync(s2, func(fsync func() error) error {
		if fails.Add(1) <= 2 {
			return errors.New("no space left on device")
		}
		return fsync()
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s2.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for st.callsNow() < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	mustClose(t, s2)

	// Process 3 starts from what process 2 left when it died.
	next := newStore()
	s3 := mustOpen(t, crashed, next, o)
	drain(t, s3)
	mustClose(t, s3)
	// (process 2 stored nothing of it before it died: both its attempts failed)
	got := next.byID[rec.ID]
	if got == nil || got.Completeness != lyumen.Interrupted {
		t.Errorf("the interrupted exchange has no record after the second crash: its progress's segment was "+
			"deleted while its interrupted record was not yet written (got %+v)", got)
	}
}

func (st *store) callsNow() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.calls
}
