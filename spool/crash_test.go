package spool_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/spool"
)

// TestSpool_Crash kills a process that records from many goroutines while
// it ships, at an arbitrary moment, three times over the same directory.
// Every record whose Record call returned must reach the store: shipped
// before the kill, or after the next Open.
func TestSpool_Crash(t *testing.T) {
	if dir := os.Getenv("SPOOL_CRASH_CHILD"); dir != "" {
		crashChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	shipped := filepath.Join(dir, "shipped") // the child's store: one id a line
	acked := map[string]bool{}
	for round := range 3 {
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestSpool_Crash$")
		cmd.Env = append(os.Environ(), "SPOOL_CRASH_CHILD="+dir)
		cmd.Stderr = t.Output()
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(out)
		n := 0
		for lines.Scan() {
			if id, ok := strings.CutPrefix(lines.Text(), "ack "); ok {
				acked[id] = true
				if n++; n == 300*(round+1) {
					cmd.Process.Kill()
				}
			}
		}
		cmd.Wait()
		t.Logf("round %d: killed after %d acknowledged records", round, n)
	}

	st := newStore()
	s := mustOpen(t, dir, st, spool.Options{})
	drain(t, s)
	got := map[string]bool{}
	for _, id := range st.ids() {
		got[id] = true
	}
	for _, line := range strings.Fields(string(mustRead(t, shipped))) {
		got[line] = true
	}
	var lost []string
	for id := range acked {
		if !got[id] {
			lost = append(lost, id)
		}
	}
	if len(lost) > 0 {
		t.Errorf("%d of %d acknowledged records lost, e.g. %v", len(lost), len(acked), lost[:min(5, len(lost))])
	}
	for id := range got {
		if !strings.HasPrefix(id, "crash-") {
			t.Errorf("store got a record with id %q, which no one wrote", id)
		}
	}
}

// crashChild records and ships until it is killed, printing "ack <id>" once
// each Record has returned.
func crashChild(dir string) {
	f, err := os.OpenFile(filepath.Join(dir, "shipped"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		panic(err)
	}
	var mu sync.Mutex
	store := writerFunc(func(_ context.Context, recs []*lyumen.Record) error {
		mu.Lock()
		defer mu.Unlock()
		var b strings.Builder
		for _, r := range recs {
			b.WriteString(r.ID + "\n")
		}
		_, err := f.WriteString(b.String())
		return err
	})
	s, err := spool.Open(dir, store, spool.Options{SegmentBytes: 64 << 10, BatchSize: 50})
	if err != nil {
		panic(err)
	}
	go s.Run(context.Background())
	pid := os.Getpid()
	var out sync.Mutex
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				rec := full(fmt.Sprintf("crash-%d-%d-%d", pid, g, i))
				if err := s.Record(context.Background(), rec); err != nil {
					panic(err)
				}
				out.Lock()
				fmt.Fprintf(os.Stdout, "ack %s\n", rec.ID)
				out.Unlock()
				time.Sleep(time.Duration(i%3) * 100 * time.Microsecond)
			}
		})
	}
	wg.Wait()
}
