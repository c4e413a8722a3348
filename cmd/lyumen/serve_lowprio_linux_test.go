package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/lyumen/lyumen/internal/lowprio"
)

// lowThreads returns the ids of the process's threads at nice 19.
func lowThreads(t *testing.T) map[int]bool {
	t.Helper()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	low := make(map[int]bool)
	for _, task := range tasks {
		tid, _ := strconv.Atoi(task.Name())
		if nice, err := lowprio.NiceOf(tid); err == nil && nice == 19 { // an error: the thread ended meanwhile
			low[tid] = true
		}
	}
	return low
}

// TestServe_ShipsAtLowPriority: by default serve ships records into the
// store from a thread of the lowest priority, with a spare P for it.
func TestServe_ShipsAtLowPriority(t *testing.T) {
	if os.Getenv("GOMAXPROCS") != "" || runtime.GOMAXPROCS(0) < runtime.NumCPU() {
		t.Skip("GOMAXPROCS is set or below the CPUs: serve leaves it as it is")
	}
	before, procs := lowThreads(t), runtime.GOMAXPROCS(0)
	dir := t.TempDir()
	_, _, stop := startServe(t, []string{"--store", "sqlite://" + filepath.Join(dir, "l.db"), "--spool", filepath.Join(dir, "spool")},
		map[string]string{"LYUMEN_ADMIN_LISTEN": freeAddr(t), "LYUMEN_ADMIN_TOKEN": "test-admin-token"})
	// A thread of an earlier test's may still be ending: look for a new one.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		newOne := false
		for tid := range lowThreads(t) {
			newOne = newOne || !before[tid]
		}
		if newOne {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no new thread at nice 19 while serving")
		}
	}
	if got := runtime.GOMAXPROCS(0); got != procs+1 {
		t.Errorf("GOMAXPROCS %d while serving, want %d: one spare for the shipping thread", got, procs+1)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := runtime.GOMAXPROCS(0); got != procs {
		t.Errorf("GOMAXPROCS %d after serve, want %d", got, procs)
	}
}
