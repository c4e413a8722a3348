package batch_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/batch"
)

// writer is a batch.Writer that keeps the IDs of every batch it stored. It
// fails its first failures calls, and its first call waits for gate when
// gate is set.
type writer struct {
	mu       sync.Mutex
	calls    int
	failures int
	gate     chan struct{}
	batches  [][]string
}

func (w *writer) WriteRecords(ctx context.Context, recs []*lyumen.Record) error {
	w.mu.Lock()
	w.calls++
	call := w.calls
	w.mu.Unlock()
	if call == 1 && w.gate != nil {
		<-w.gate
	}
	if call <= w.failures {
		return fmt.Errorf("store down (call %d)", call)
	}
	ids := make([]string, len(recs)) // recs is reused after we return: copy
	for i, r := range recs {
		ids[i] = r.ID
	}
	w.mu.Lock()
	w.batches = append(w.batches, ids)
	w.mu.Unlock()
	return nil
}

func (w *writer) stored() [][]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.batches)
}

func (w *writer) callCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.calls
}

func rec(i int) *lyumen.Record { return &lyumen.Record{ID: fmt.Sprintf("r%02d", i)} }

func ids(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, rec(i).ID)
	}
	return out
}

// start runs r.Run in the background and returns a function that cancels it
// and returns Run's error.
func start(tb testing.TB, r *batch.Recorder) (stop func() error) {
	tb.Helper()
	ctx, cancel := context.WithCancel(tb.Context())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	return func() error {
		cancel()
		return <-done
	}
}

func record(tb testing.TB, r *batch.Recorder, from, to int) {
	tb.Helper()
	for i := from; i <= to; i++ {
		if err := r.Record(tb.Context(), rec(i)); err != nil {
			tb.Fatalf("Record(%d): %v", i, err)
		}
	}
}

func TestRecorder_BatchesOfSize(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &writer{}
		var written []int
		r := batch.New(w, batch.Options{Size: 3, Interval: time.Hour, OnWritten: func(n int) { written = append(written, n) }})
		stop := start(t, r)

		record(t, r, 1, 7)
		synctest.Wait()
		if diff := cmp.Diff([][]string{ids(1, 3), ids(4, 6)}, w.stored()); diff != "" {
			t.Errorf("batches before shutdown mismatch (-want +got):\n%s", diff)
		}

		if err := stop(); err != nil {
			t.Fatalf("Run: %v", err)
		}
		if diff := cmp.Diff([][]string{ids(1, 3), ids(4, 6), ids(7, 7)}, w.stored()); diff != "" {
			t.Errorf("batches mismatch (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]int{3, 3, 1}, written); diff != "" {
			t.Errorf("OnWritten mismatch (-want +got):\n%s", diff)
		}
	})
}

func TestRecorder_FlushesAfterInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &writer{}
		r := batch.New(w, batch.Options{Size: 10, Interval: time.Second})
		stop := start(t, r)

		record(t, r, 1, 3)
		time.Sleep(time.Second - time.Millisecond)
		synctest.Wait()
		if got := w.stored(); len(got) != 0 {
			t.Fatalf("written before the interval: %v", got)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if diff := cmp.Diff([][]string{ids(1, 3)}, w.stored()); diff != "" {
			t.Errorf("batches after the interval mismatch (-want +got):\n%s", diff)
		}

		// An empty tick writes nothing.
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if n := w.callCount(); n != 1 {
			t.Errorf("writer called %d times, want 1", n)
		}
		if err := stop(); err != nil {
			t.Fatalf("Run: %v", err)
		}
	})
}

func TestRecorder_RetriesFailedBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &writer{failures: 2}
		r := batch.New(w, batch.Options{Size: 2, Interval: time.Hour})
		stop := start(t, r)

		record(t, r, 1, 2) // a full batch: written at once, and fails
		synctest.Wait()
		if n, got := w.callCount(), w.stored(); n != 1 || len(got) != 0 {
			t.Fatalf("after the first try: %d calls, stored %v; want 1 call, nothing stored", n, got)
		}
		record(t, r, 3, 5) // queued while the store is down
		time.Sleep(time.Minute)
		synctest.Wait()
		if n := w.callCount(); n < 3 {
			t.Errorf("writer called %d times, want at least 3", n)
		}
		if diff := cmp.Diff([][]string{ids(1, 2), ids(3, 4)}, w.stored()); diff != "" {
			t.Errorf("batches mismatch (-want +got):\n%s", diff)
		}
		if err := stop(); err != nil {
			t.Fatalf("Run: %v", err)
		}
		if diff := cmp.Diff([][]string{ids(1, 2), ids(3, 4), ids(5, 5)}, w.stored()); diff != "" {
			t.Errorf("batches after shutdown mismatch (-want +got):\n%s", diff)
		}
	})
}

func TestRecorder_ShutdownRetriesFailingStore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &writer{failures: 3}
		r := batch.New(w, batch.Options{Size: 10, Interval: time.Hour})
		stop := start(t, r)
		record(t, r, 1, 4)
		synctest.Wait()
		if err := stop(); err != nil {
			t.Fatalf("Run: %v", err)
		}
		if diff := cmp.Diff([][]string{ids(1, 4)}, w.stored()); diff != "" {
			t.Errorf("batches mismatch (-want +got):\n%s", diff)
		}
		if n := w.callCount(); n != 4 {
			t.Errorf("writer called %d times, want 4", n)
		}
	})
}

// TestRecorder_ShutdownWritesBlockedRecords fills the queue while the store
// is stuck, so more Record calls wait; then Run is told to stop. Every record
// whose Record call returned nil must be written, exactly once.
func TestRecorder_ShutdownWritesBlockedRecords(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &writer{gate: make(chan struct{})}
		r := batch.New(w, batch.Options{Size: 2, Queue: 2, Interval: time.Hour})
		stop := start(t, r)

		record(t, r, 1, 2) // a full batch: Run is now stuck in the first write
		synctest.Wait()
		record(t, r, 3, 4) // fills the queue
		var wg sync.WaitGroup
		errs := make([]error, 3)
		for i := range errs {
			wg.Go(func() { errs[i] = r.Record(t.Context(), rec(5+i)) }) // blocks: queue full
		}
		synctest.Wait()

		stopped := make(chan error, 1)
		go func() { stopped <- stop() }()
		synctest.Wait()
		close(w.gate) // the store recovers
		if err := <-stopped; err != nil {
			t.Fatalf("Run: %v", err)
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("blocked Record(%d) = %v, want nil", 5+i, err)
			}
		}

		var got []string
		for _, b := range w.stored() {
			if len(b) > 2 {
				t.Errorf("batch %v is larger than Size", b)
			}
			got = append(got, b...)
		}
		slices.Sort(got)
		if diff := cmp.Diff(ids(1, 7), got); diff != "" {
			t.Errorf("records written mismatch (-want +got):\n%s", diff)
		}
	})
}

func TestRecorder_RecordAfterRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &writer{}
		r := batch.New(w, batch.Options{})
		stop := start(t, r)
		record(t, r, 1, 1)
		if err := stop(); err != nil {
			t.Fatalf("Run: %v", err)
		}
		if err := r.Record(t.Context(), rec(2)); !errors.Is(err, batch.ErrClosed) {
			t.Errorf("Record after Run = %v, want ErrClosed", err)
		}
		if diff := cmp.Diff([][]string{ids(1, 1)}, w.stored()); diff != "" {
			t.Errorf("batches mismatch (-want +got):\n%s", diff)
		}
	})
}

func TestRecorder_RecordFullQueue(t *testing.T) {
	tests := []struct {
		name    string
		ctx     func(context.Context) (context.Context, context.CancelFunc)
		wantErr error
	}{
		{
			name: "canceled context",
			ctx: func(parent context.Context) (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(parent)
				cancel()
				return ctx, cancel
			},
			wantErr: context.Canceled,
		},
		{
			name: "deadline passes while waiting",
			ctx: func(parent context.Context) (context.Context, context.CancelFunc) {
				return context.WithTimeout(parent, time.Second)
			},
			wantErr: context.DeadlineExceeded,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := &writer{}
				r := batch.New(w, batch.Options{Size: 1, Queue: 1, Interval: time.Hour})
				record(t, r, 1, 1) // Run is not running: the queue is now full

				ctx, cancel := tc.ctx(t.Context())
				defer cancel()
				if err := r.Record(ctx, rec(2)); !errors.Is(err, tc.wantErr) {
					t.Errorf("Record = %v, want %v", err, tc.wantErr)
				}

				// The refused record was not taken; the queued one is written.
				stop := start(t, r)
				synctest.Wait()
				if err := stop(); err != nil {
					t.Fatalf("Run: %v", err)
				}
				if diff := cmp.Diff([][]string{ids(1, 1)}, w.stored()); diff != "" {
					t.Errorf("batches mismatch (-want +got):\n%s", diff)
				}
			})
		})
	}
}
