package main

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// TestRun runs the whole runner for a moment. On so short a run the
// target may be met or not; anything else is an error.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	err := run(t.Context(), []string{"-c", "4", "-d", "40ms", "-rounds", "2", "-warmup", "0"}, &out, io.Discard)
	if err != nil && !errors.Is(err, errMissed) {
		t.Fatal(err)
	}
	if err != nil && strings.Contains(err.Error(), "errors; first") {
		t.Error(err)
	}
	for _, want := range []string{
		"### nonstream: closed loop, 4 clients", "### stream: closed loop, 4 clients",
		"| openai-openai |", "| mock-gemini |", "| anthropic-openai | ",
		"- stream, openai-anthropic: throughput ", "% of anthropic-anthropic",
		"- nonstream, openai-gemini: throughput ", "- nonstream, responses-openai: throughput ",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}
