package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// lowThreads counts the process's threads at nice 19.
func lowThreads(t *testing.T) int {
	t.Helper()
	tasks, err := filepath.Glob("/proc/self/task/*/stat")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range tasks {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the thread ended meanwhile
		}
		s := string(b)
		// nice is the nineteenth field, the seventeenth after the command.
		if f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]); len(f) > 16 && f[16] == "19" {
			n++
		}
	}
	return n
}

// TestServe_ShipsAtLowPriority: by default serve ships records into the
// store from a thread of the lowest priority, with a spare P for it.
func TestServe_ShipsAtLowPriority(t *testing.T) {
	if os.Getenv("GOMAXPROCS") != "" {
		t.Skip("GOMAXPROCS is set: serve leaves it as it is")
	}
	before, procs := lowThreads(t), runtime.GOMAXPROCS(0)
	dir := t.TempDir()
	_, _, stop := startServe(t, []string{"--store", "sqlite://" + filepath.Join(dir, "l.db"), "--spool", filepath.Join(dir, "spool")},
		map[string]string{"LYUMEN_ADMIN_LISTEN": freeAddr(t), "LYUMEN_ADMIN_TOKEN": "test-admin-token"})
	for deadline := time.Now().Add(5 * time.Second); lowThreads(t) <= before; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no thread at nice 19 while serving (%d before)", before)
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
