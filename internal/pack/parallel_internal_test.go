package pack

import (
	"errors"
	"runtime"
	"sync"
	"syscall"
	"testing"

	"github.com/lyumen/lyumen/internal/lowprio"
)

func TestWorkersFor(t *testing.T) {
	if got, want := workersFor(t.Context()), runtime.GOMAXPROCS(0); got != want {
		t.Errorf("workersFor(a context) = %d, want GOMAXPROCS %d", got, want)
	}
	if got := workersFor(lowprio.Mark(t.Context())); got != 1 {
		t.Errorf("workersFor(a low-priority thread's context) = %d, want 1", got)
	}
}

// TestParallel_OneWorker: one worker is the calling goroutine, so work
// on a thread of lowprio.Run stays at its priority.
func TestParallel_OneWorker(t *testing.T) {
	runtime.LockOSThread() // a thread that runs this goroutine alone
	defer runtime.UnlockOSThread()
	tid := syscall.Gettid()
	var tids []int
	err := parallel(1, 50, func(int) error {
		tids = append(tids, syscall.Gettid())
		return nil
	})
	if err != nil || len(tids) != 50 {
		t.Fatalf("parallel(1, 50) called f %d times, err %v; want 50, nil", len(tids), err)
	}
	for i, got := range tids {
		if got != tid {
			t.Fatalf("call %d ran on thread %d, want the caller's %d", i, got, tid)
		}
	}

	boom := errors.New("boom")
	n := 0
	err = parallel(1, 50, func(i int) error {
		n++
		if i == 3 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || n != 4 {
		t.Errorf("parallel(1) after an error: %d calls, err %v; want 4, %v", n, err, boom)
	}
}

func TestParallel_EachOnce(t *testing.T) {
	for _, workers := range []int{1, 2, 8} {
		var mu sync.Mutex
		seen := make(map[int]int)
		_ = parallel(workers, 100, func(i int) error {
			mu.Lock()
			seen[i]++
			mu.Unlock()
			return nil
		})
		for i := range 100 {
			if seen[i] != 1 {
				t.Errorf("%d workers: f(%d) called %d times, want 1", workers, i, seen[i])
			}
		}
	}
}
