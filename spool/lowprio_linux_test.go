package spool_test

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/lowprio"
	"github.com/lyumen/lyumen/spool"
)

// prioWriter is a Writer that tells, for each batch, the nice value of the
// thread that wrote it and whether its context was marked (lowprio.Mark).
type prioWriter struct {
	t     *testing.T
	calls chan prioCall
	mu    sync.Mutex
	hold  chan struct{} // when set, the next write waits for it to close
}

type prioCall struct {
	nice, recs int
	marked     bool
}

func newPrioWriter(t *testing.T) *prioWriter {
	usual := make(chan int)
	go func() {
		runtime.LockOSThread()
		n, _ := lowprio.Nice()
		usual <- n
	}()
	if <-usual == 19 {
		t.Skip("the test itself runs at nice 19: nothing to tell apart")
	}
	return &prioWriter{t: t, calls: make(chan prioCall, 100)}
}

func (w *prioWriter) WriteRecords(ctx context.Context, recs []*lyumen.Record) error {
	runtime.LockOSThread()
	n, err := lowprio.Nice()
	runtime.UnlockOSThread()
	if err != nil {
		w.t.Error(err)
	}
	w.mu.Lock()
	h := w.hold
	w.hold = nil
	w.mu.Unlock()
	w.calls <- prioCall{n, len(recs), lowprio.Marked(ctx)}
	if h != nil {
		<-h
	}
	return nil
}

// holdNext makes the next write wait until the returned channel closes.
func (w *prioWriter) holdNext() chan struct{} {
	h := make(chan struct{})
	w.mu.Lock()
	w.hold = h
	w.mu.Unlock()
	return h
}

// next waits for the next write.
func (w *prioWriter) next(what string) prioCall {
	w.t.Helper()
	select {
	case c := <-w.calls:
		return c
	case <-time.After(10 * time.Second):
		w.t.Fatalf("no write %s", what)
		return prioCall{}
	}
}

func (c prioCall) low() bool { return c.nice == 19 && c.marked }

// TestSpool_LowPriority: with LowPriority the store is written from a
// thread of the lowest priority, under a context that keeps the Writer's
// work there, except while the spool is behind and during the drain at
// shutdown.
func TestSpool_LowPriority(t *testing.T) {
	w := newPrioWriter(t)
	const batch = 2 // behind past 4 batches
	s := mustOpen(t, t.TempDir(), w, spool.Options{BatchSize: batch, Linger: -1, LowPriority: true})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	recordN(t, s, 0, 1)
	if c := w.next("of a first record"); !c.low() {
		t.Errorf("a record shipped at nice %d, marked %v; want 19, marked", c.nice, c.marked)
	}

	h := w.holdNext()
	recordN(t, s, 1, 1)
	w.next("to hold")
	recordN(t, s, 2, 4*batch+1) // behind, once the held batch is in
	close(h)
	if c := w.next("behind"); c.nice == 19 || c.marked {
		t.Errorf("a spool %d records behind shipped at nice %d, marked %v; want the usual priority, unmarked", 4*batch+1, c.nice, c.marked)
	}
	for n := batch; n < 4*batch+1; n += batch { // the rest of the backlog
		w.next("of the backlog")
	}

	recordN(t, s, 20, 1)
	if c := w.next("after catching up"); !c.low() {
		t.Errorf("a record shipped after catching up at nice %d, marked %v; want 19, marked", c.nice, c.marked)
	}

	h = w.holdNext()
	recordN(t, s, 30, 1)
	w.next("to hold before shutdown")
	recordN(t, s, 31, 1)
	cancel()
	close(h)
	if c := w.next("in the drain"); c.nice == 19 || c.marked {
		t.Errorf("the drain shipped at nice %d, marked %v; want the usual priority, unmarked", c.nice, c.marked)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestSpool_LowPriority_BehindInBytes: an eighth of MaxBytes pending is
// behind too, however few the records.
func TestSpool_LowPriority_BehindInBytes(t *testing.T) {
	w := newPrioWriter(t)
	const maxBytes = 256 << 10
	s := mustOpen(t, t.TempDir(), w, spool.Options{MaxBytes: maxBytes, BatchSize: 1000, Linger: -1, LowPriority: true})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()

	h := w.holdNext()
	recordN(t, s, 0, 1)
	w.next("to hold")
	n := 1
	for _, b := s.Pending(); b <= maxBytes/8; _, b = s.Pending() {
		recordN(t, s, n, 1)
		n++
	}
	recordN(t, s, n, 2) // the held record leaves the count once it is in
	n += 2
	if n > 4*1000 {
		t.Fatalf("%d records to an eighth of MaxBytes: behind by count, not bytes", n)
	}
	close(h)
	if c := w.next("behind"); c.nice == 19 || c.marked {
		t.Errorf("%d records, over an eighth of MaxBytes, shipped at nice %d, marked %v; want the usual priority, unmarked", n-1, c.nice, c.marked)
	}
}

// TestSpool_LowPriority_WriterGoexit: a Writer that ends its goroutine on
// the low thread (a test's t.Fatal) does not count as having stored the
// batch: it ships again, at the usual priority, and Run still ends.
func TestSpool_LowPriority_WriterGoexit(t *testing.T) {
	var calls atomic.Int32
	st := newStore()
	w := writerFunc(func(ctx context.Context, recs []*lyumen.Record) error {
		if calls.Add(1) == 1 {
			runtime.Goexit()
		}
		return st.WriteRecords(ctx, recs)
	})
	var shipped atomic.Int64
	s := mustOpen(t, t.TempDir(), w, spool.Options{Linger: -1, LowPriority: true, MaxBackoff: time.Millisecond,
		OnShipped: func(n int) { shipped.Add(int64(n)) }})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	want := recordN(t, s, 0, 3)
	for deadline := time.Now().Add(10 * time.Second); len(st.ids()) < len(want); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d records stored after the Writer's Goexit", len(st.ids()), len(want))
		}
	}
	if n := shipped.Load(); n != int64(len(want)) {
		t.Errorf("OnShipped counted %d records, want %d: the batch the Writer left was counted", n, len(want))
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not end after the Writer's Goexit")
	}
}
