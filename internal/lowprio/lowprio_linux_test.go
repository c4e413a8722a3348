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

func TestThread_LowersItsThreadAlone(t *testing.T) {
	var usual int
	onOwnThread(func() { usual = niceOfThread(t) })
	if usual == 19 {
		t.Skip("the test itself runs at nice 19: nothing to tell apart")
	}

	th, err := lowprio.Start()
	if err != nil {
		t.Fatal(err)
	}
	var inside, started, tid int
	for range 3 { // one thread, whatever it is given
		th.Do(func() {
			n, err := lowprio.Nice()
			if err != nil {
				t.Error(err) // not Fatal: Do would wait for ever
				return
			}
			if tid != 0 && syscall.Gettid() != tid {
				t.Errorf("Do ran on thread %d, then %d", tid, syscall.Gettid())
			}
			inside, tid = n, syscall.Gettid()
			onOwnThread(func() { started = niceOfThread(t) })
		})
	}
	if inside != 19 {
		t.Errorf("f ran at nice %d, want 19", inside)
	}
	if started != usual {
		t.Errorf("a goroutine f started ran at nice %d, want the usual %d", started, usual)
	}
	th.Stop()

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
				t.Fatalf("thread %d still runs after Stop", tid)
			}
		}
	}
	for range 20 {
		onOwnThread(func() {
			if n, id := niceOfThread(t), syscall.Gettid(); n != usual || id == tid {
				t.Errorf("a goroutine after Stop ran on thread %d at nice %d; want not %d, nice %d", id, n, tid, usual)
			}
		})
	}
}

// TestThread_SpareP: each running Thread has GOMAXPROCS one higher, and
// after the last stops it is what it was, unless the environment sets it
// or a CPU quota lowered it.
func TestThread_SpareP(t *testing.T) {
	t.Setenv("GOMAXPROCS", "")
	n := runtime.GOMAXPROCS(0)
	if n < runtime.NumCPU() {
		t.Skipf("GOMAXPROCS %d is below the %d CPUs (-cpu?): Threads leave it", n, runtime.NumCPU())
	}
	procs := func(want int, when string) {
		t.Helper()
		if got := runtime.GOMAXPROCS(0); got != want {
			t.Errorf("GOMAXPROCS %d %s, want %d", got, when, want)
		}
	}
	a, err := lowprio.Start()
	if err != nil {
		t.Fatal(err)
	}
	procs(n+1, "with a Thread")
	b, err := lowprio.Start()
	if err != nil {
		t.Fatal(err)
	}
	procs(n+2, "with two")
	a.Stop()
	procs(n+1, "after one stopped")
	b.Stop()
	procs(n, "after both stopped")

	if n > 1 { // a quota's GOMAXPROCS, below the CPUs, stands
		runtime.GOMAXPROCS(n - 1)
		c, err := lowprio.Start()
		if err != nil {
			t.Fatal(err)
		}
		procs(n-1, "below the CPUs, with a Thread")
		c.Stop()
		runtime.GOMAXPROCS(n)
	}

	t.Setenv("GOMAXPROCS", strconv.Itoa(n)) // the operator's number stands
	d, err := lowprio.Start()
	if err != nil {
		t.Fatal(err)
	}
	procs(n, "with a Thread, the environment setting GOMAXPROCS")
	d.Stop()
}

// TestThread_Goexit: a function that ends its goroutine (t.Fatal does)
// ends the Thread; Do says so rather than report it returned, and Stop
// still gives the spare P back.
func TestThread_Goexit(t *testing.T) {
	t.Setenv("GOMAXPROCS", "")
	n := runtime.GOMAXPROCS(0)
	th, err := lowprio.Start()
	if err != nil {
		t.Fatal(err)
	}
	if !th.Do(func() {}) {
		t.Error("Do of a function that returned reported it did not")
	}
	if th.Do(runtime.Goexit) {
		t.Error("Do of a function that ended its goroutine reported it returned")
	}
	th.Stop()
	if got := runtime.GOMAXPROCS(0); got != n {
		t.Errorf("GOMAXPROCS %d after Stop, want %d", got, n)
	}
}
