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
)

// ErrUnsupported is returned where one thread's priority cannot be
// lowered: every system but Linux.
var ErrUnsupported = errors.New("lowering one thread's priority is not supported on " + runtime.GOOS)

// Run calls f on a new OS thread of the lowest priority and returns when
// f does. Goroutines that f starts run at the usual priority. If the
// thread's priority cannot be lowered, Run returns why without calling f.
func Run(f func()) error {
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: when this goroutine returns, the runtime ends
		// the thread with it, so its priority never passes to another
		// goroutine (and an unprivileged thread cannot raise it back).
		runtime.LockOSThread()
		if err := lower(); err != nil {
			errc <- err
			return
		}
		f()
		errc <- nil
	}()
	return <-errc
}

// SpareP raises GOMAXPROCS by one where Run lowers a thread's priority,
// unless the GOMAXPROCS environment variable sets it, and returns what
// undoes that. A thread that runs Go code holds a P while the kernel makes
// it wait for a CPU: without a spare P, the rest of the process would run
// on one P fewer whenever the low-priority thread has work. While it is
// raised the runtime no longer follows changes to the CPU limit of the
// process's cgroup; undo returns GOMAXPROCS to the runtime's default.
func SpareP() (undo func()) {
	if !supported || os.Getenv("GOMAXPROCS") != "" {
		return func() {}
	}
	runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + 1)
	return runtime.SetDefaultGOMAXPROCS
}

type markKey struct{}

// Mark returns ctx marked as that of work on a thread of Run's. Work that
// would fan out to other goroutines runs on the calling one under a
// marked context: the goroutines would run at the usual priority.
func Mark(ctx context.Context) context.Context {
	return context.WithValue(ctx, markKey{}, true)
}

// Marked reports whether ctx is marked (see Mark).
func Marked(ctx context.Context) bool {
	on, _ := ctx.Value(markKey{}).(bool)
	return on
}
