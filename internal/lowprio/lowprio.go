// Package lowprio runs work that can wait on an OS thread the kernel
// schedules after the process's other threads: shipping records into the
// store then takes the CPU that serving leaves, rather than making
// requests queue behind it. Go has no goroutine priorities, so the work
// gets a thread of its own, locked to its goroutine, at the lowest nice
// value.
package lowprio

import (
	"context"
	"errors"
	"os"
	"runtime"
	"sync"
)

// ErrUnsupported is returned where one thread's priority cannot be
// lowered: every system but Linux.
var ErrUnsupported = errors.New("lowering one thread's priority is not supported on " + runtime.GOOS)

// Thread is a goroutine locked to an OS thread of the lowest priority,
// which runs the functions given to Do.
type Thread struct {
	work  chan func()
	ended chan struct{}
	spare bool // holds a spare P (see spareP)
}

// Start starts a Thread, or returns why the priority of a thread cannot
// be lowered here. Stop ends it.
//
// A thread that runs Go code holds a P while the kernel makes it wait for
// a CPU; without a spare P the rest of the process would run on one P
// fewer whenever the Thread has work. So each running Thread adds one to
// GOMAXPROCS, unless the GOMAXPROCS environment variable sets it or it is
// below the number of CPUs (a CPU quota of fewer whole CPUs than the
// machine has: a quota Go rounds up is not seen).
func Start() (*Thread, error) {
	t := &Thread{work: make(chan func()), ended: make(chan struct{})}
	t.spare = spareP() // before the thread runs: whoever sees it sees the P
	started := make(chan error, 1)
	go t.run(started)
	if err := <-started; err != nil {
		if t.spare {
			returnP()
		}
		return nil, err
	}
	return t, nil
}

func (t *Thread) run(started chan<- error) {
	// Never unlocked: when this goroutine returns, the runtime ends the
	// thread with it, so its priority never passes to another goroutine
	// (and an unprivileged thread cannot raise it back). Locked twice, so
	// that one unbalanced UnlockOSThread in a function given to Do cannot
	// free the thread.
	runtime.LockOSThread()
	runtime.LockOSThread()
	defer close(t.ended)
	if err := lower(); err != nil {
		started <- err
		return
	}
	started <- nil
	for f := range t.work {
		f()
	}
}

// Do calls f on the thread and reports whether f returned. Goroutines
// that f starts run at the usual priority: see Mark. If f did not return
// (runtime.Goexit, as t.Fatal calls), the Thread has ended: call Stop,
// and Do no more.
func (t *Thread) Do(f func()) bool {
	done := make(chan bool, 1)
	t.work <- func() {
		returned := false
		defer func() { done <- returned }()
		f()
		returned = true
	}
	return <-done
}

// Stop ends the Thread once the Do under way returns. Do must not be
// called after.
func (t *Thread) Stop() {
	close(t.work)
	<-t.ended
	if t.spare {
		returnP()
	}
}

// Spare Ps, counted for the whole process: Threads of several owners
// (spools in tests, say) share GOMAXPROCS.
var spares struct {
	sync.Mutex
	n     int
	saved int // GOMAXPROCS before the first spare
}

// spareP raises GOMAXPROCS by one, unless it must stand (see Start), and
// reports whether it did.
func spareP() bool {
	spares.Lock()
	defer spares.Unlock()
	if spares.n == 0 {
		n := runtime.GOMAXPROCS(0)
		if os.Getenv("GOMAXPROCS") != "" || n < runtime.NumCPU() {
			return false
		}
		spares.saved = n
	}
	spares.n++
	runtime.GOMAXPROCS(spares.saved + spares.n)
	return true
}

// returnP gives back a spare P; with the last, GOMAXPROCS is what it was,
// and the runtime's own again if that was its default.
func returnP() {
	spares.Lock()
	defer spares.Unlock()
	spares.n--
	if spares.n > 0 {
		runtime.GOMAXPROCS(spares.saved + spares.n)
		return
	}
	runtime.SetDefaultGOMAXPROCS()
	if runtime.GOMAXPROCS(0) != spares.saved { // set by hand (go test -cpu)
		runtime.GOMAXPROCS(spares.saved)
	}
}

type markKey struct{}

// Mark returns ctx marked as that of work on a Thread. Work that would
// fan out to other goroutines runs on the calling one under a marked
// context: the goroutines would run at the usual priority.
func Mark(ctx context.Context) context.Context {
	return context.WithValue(ctx, markKey{}, true)
}

// Marked reports whether ctx is marked (see Mark).
func Marked(ctx context.Context) bool {
	on, _ := ctx.Value(markKey{}).(bool)
	return on
}
