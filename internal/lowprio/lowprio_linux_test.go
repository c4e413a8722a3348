package lowprio_test

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/lyumen/lyumen/internal/lowprio"
)

func niceOfThread(t *testing.T) int {
	t.Helper()
	n, err := lowprio.Nice()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// onOwnThread calls f locked to a thread, as no other goroutine is.
func onOwnThread(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		f()
	}()
	<-done
}

func TestRun_LowersItsThreadAlone(t *testing.T) {
	var usual int
	onOwnThread(func() { usual = niceOfThread(t) })
	if usual == 19 {
		t.Skip("the test itself runs at nice 19: nothing to tell apart")
	}

	var inside, started, tid int
	err := lowprio.Run(func() {
		inside, tid = niceOfThread(t), syscall.Gettid()
		onOwnThread(func() { started = niceOfThread(t) })
	})
	if err != nil {
		t.Fatal(err)
	}
	if inside != 19 {
		t.Errorf("f ran at nice %d, want 19", inside)
	}
	if started != usual {
		t.Errorf("a goroutine f started ran at nice %d, want the usual %d", started, usual)
	}
	// The thread ends with its goroutine rather than go back to the
	// runtime's pool, where any goroutine could run at its priority. (The
	// process's first thread is parked for good instead.)
	if tid != os.Getpid() {
		task := fmt.Sprintf("/proc/self/task/%d", tid)
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
			if _, err := os.Stat(task); errors.Is(err, os.ErrNotExist) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("thread %d still runs after Run returned", tid)
			}
		}
	}
	for range 20 {
		onOwnThread(func() {
			if n, id := niceOfThread(t), syscall.Gettid(); n != usual || id == tid {
				t.Errorf("a goroutine after Run ran on thread %d at nice %d; want not %d, nice %d", id, n, tid, usual)
			}
		})
	}
}

func TestSpareP(t *testing.T) {
	t.Setenv("GOMAXPROCS", "")
	n := runtime.GOMAXPROCS(0)
	undo := lowprio.SpareP()
	if got := runtime.GOMAXPROCS(0); got != n+1 {
		t.Errorf("GOMAXPROCS %d with a spare P, want %d", got, n+1)
	}
	undo()
	if got := runtime.GOMAXPROCS(0); got != n {
		t.Errorf("GOMAXPROCS %d after undo, want %d", got, n)
	}

	t.Setenv("GOMAXPROCS", strconv.Itoa(n)) // the operator's number stands
	defer lowprio.SpareP()()
	if got := runtime.GOMAXPROCS(0); got != n {
		t.Errorf("GOMAXPROCS %d although the environment sets it, want %d", got, n)
	}
}
