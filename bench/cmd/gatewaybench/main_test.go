package main

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// TestRun runs the whole runner for a moment. On so short a run the
// targets may be met or not; anything else is an error.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	err := run(t.Context(), []string{"-c", "4", "-d", "100ms", "-rounds", "2", "-lat-rounds", "2", "-warmup", "0", "-dir", t.TempDir()}, &out, io.Discard)
	if err != nil && !errors.Is(err, errMissed) {
		t.Fatal(err)
	}
	if err != nil && strings.Contains(err.Error(), "records stored") {
		t.Error(err)
	}
	for _, want := range []string{
		"## nonstream", "## stream", "### Throughput: closed loop, 4 clients", "### Latency: open loop at ",
		"| lyumen-norec |", "issue 2, throughput:", "issue 2, latency:", "issue 3, throughput:", "issue 3, latency:",
		": OK, one record per request",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}
