package spool_test

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/lowprio"
	"github.com/lyumen/lyumen/spool"
)

// TestSpool_LowPriority: with LowPriority the store is written from a
// thread of the lowest priority, under a context that keeps the Writer's
// work there, except while the spool is behind and during the drain at
// shutdown.
func TestSpool_LowPriority(t *testing.T) {
	usual := make(chan int)
	go func() {
		runtime.LockOSThread()
		n, _ := lowprio.Nice()
		usual <- n
	}()
	if <-usual == 19 {
		t.Skip("the test itself runs at nice 19: nothing to tell apart")
	}

	type call struct {
		nice, recs int
		marked     bool
	}
	calls := make(chan call, 100)
	var mu sync.Mutex
	var hold chan struct{} // when set, the next write waits for it to close
	w := writerFunc(func(ctx context.Context, recs []*lyumen.Record) error {
		runtime.LockOSThread()
		n, err := lowprio.Nice()
		runtime.UnlockOSThread()
		if err != nil {
			t.Error(err)
		}
		mu.Lock()
		h := hold
		hold = nil
		mu.Unlock()
		calls <- call{n, len(recs), lowprio.Marked(ctx)}
		if h != nil {
			<-h
		}
		return nil
	})
	holdNext := func() chan struct{} {
		h := make(chan struct{})
		mu.Lock()
		hold = h
		mu.Unlock()
		return h
	}
	next := func(want string) call {
		t.Helper()
		select {
		case c := <-calls:
			return c
		case <-time.After(10 * time.Second):
			t.Fatalf("no write %s", want)
			return call{}
		}
	}
	const batch = 2 // behind past 4 batches
	s := mustOpen(t, t.TempDir(), w, spool.Options{BatchSize: batch, Linger: -1, LowPriority: true})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	recordN(t, s, 0, 1)
	if c := next("of a first record"); c.nice != 19 || !c.marked {
		t.Errorf("a record shipped at nice %d, marked %v; want 19, marked", c.nice, c.marked)
	}

	h := holdNext()
	recordN(t, s, 1, 1)
	next("to hold")
	recordN(t, s, 2, 4*batch+1) // behind, once the held batch is in
	close(h)
	if c := next("behind"); c.nice == 19 || c.marked {
		t.Errorf("a spool %d records behind shipped at nice %d, marked %v; want the usual priority, unmarked", 4*batch+1, c.nice, c.marked)
	}
	for n := batch; n < 4*batch+1; n += batch { // the rest of the backlog
		next("of the backlog")
	}

	recordN(t, s, 20, 1)
	if c := next("after catching up"); c.nice != 19 || !c.marked {
		t.Errorf("a record shipped after catching up at nice %d, marked %v; want 19, marked", c.nice, c.marked)
	}

	h = holdNext()
	recordN(t, s, 30, 1)
	next("to hold before shutdown")
	recordN(t, s, 31, 1)
	cancel()
	close(h)
	if c := next("in the drain"); c.nice == 19 || c.marked {
		t.Errorf("the drain shipped at nice %d, marked %v; want the usual priority, unmarked", c.nice, c.marked)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
