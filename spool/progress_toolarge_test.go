package spool_test

import (
	"strings"
	"testing"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/spool"
)

// TestSpool_ProgressLargestBecomesARecord: the largest progress the spool
// takes leaves room for the interrupted record made from it, which is
// larger (its completeness and error). A progress of MaxBytes/2 was taken,
// and its record refused as too large for ever: at every start, the
// exchange was never recorded and its segments never went.
func TestSpool_ProgressLargestBecomesARecord(t *testing.T) {
	dir := t.TempDir()
	o := spool.Options{MaxBytes: 64 << 10}
	s := mustOpen(t, dir, newStore(), o)
	rec := full(id(1000))
	withRequest := func(n int) *lyumen.Record {
		p := sofar(rec, "Hel")
		p.Request = []byte(`{"x":"` + strings.Repeat("x", n) + `"}`)
		return p
	}
	// The request that makes the progress frame exactly MaxBytes/2: refused.
	probe := mustOpen(t, t.TempDir(), newStore(), o)
	n := 16 << 10
	if err := probe.Progress(t.Context(), withRequest(n)); err != nil {
		t.Fatal(err)
	}
	n += int(o.MaxBytes/2 - probe.Bytes() + 8) // a segment's header
	mustClose(t, probe)
	if err := s.Progress(t.Context(), withRequest(n)); err == nil {
		t.Fatal("a progress of MaxBytes/2 taken: its interrupted record would not fit")
	}
	// The largest taken.
	for n > 0 && s.Progress(t.Context(), withRequest(n)) != nil {
		n -= 16
	}
	mustClose(t, s) // the process dies with the stream open: the client had "Hel"

	afterCrash(t, dir, newStore(), o, rec.ID)
}
