package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
)

// TestMain is also the load worker of -split, which runs this binary again.
func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) != "" {
		if err := runWorker(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestRun runs the whole runner for a moment. On so short a run the
// targets may be met or not; anything else is an error.
func TestRun(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flags []string
		where string // the report's line on the processes
	}{
		{"one process", nil, "all servers and clients in this one process"},
		{"split", []string{"-split", "-distinct"}, "the mock and the clients in a second process"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"-c", "4", "-d", "100ms", "-rounds", "2", "-lat-rounds", "2", "-warmup", "0", "-dir", t.TempDir()}
			testRun(t, append(args, tc.flags...), tc.where)
		})
	}
}

func testRun(t *testing.T, args []string, where string) {
	var out bytes.Buffer
	err := run(t.Context(), args, &out, io.Discard)
	if err != nil && !errors.Is(err, errMissed) {
		t.Fatal(err)
	}
	if err != nil && strings.Contains(err.Error(), "records stored") {
		t.Error(err)
	}
	for _, want := range []string{
		"## nonstream", "## stream", "### Throughput: closed loop, 4 clients", "### Latency: open loop at ",
		"| lyumen-norec |", "| CPU busy |", "issue 2, throughput:", "issue 2, latency:", "issue 3, throughput:", "issue 3, latency:",
		": OK, one record per request", where,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}
