package lowprio

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// lower sets the calling thread's nice value to 19, the lowest priority.
// A Linux thread is a task of its own: PRIO_PROCESS with its id changes
// that thread alone.
func lower() error {
	if err := syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), 19); err != nil {
		return fmt.Errorf("lower the thread's priority: %w", err)
	}
	return nil
}

// Nice returns the calling thread's nice value; the caller must be locked
// to its thread (runtime.LockOSThread) for the answer to mean anything.
func Nice() (int, error) { return NiceOf(syscall.Gettid()) }

// NiceOf returns the nice value of the process's thread tid.
func NiceOf(tid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/stat", tid))
	if err != nil {
		return 0, err
	}
	// The fields after the command's closing parenthesis begin with the
	// third; nice is the nineteenth.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 19-2 {
		return 0, fmt.Errorf("no nice value in %q", s)
	}
	return strconv.Atoi(fields[19-3])
}
