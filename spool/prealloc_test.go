package spool_test

import (
	"path/filepath"
	"testing"

	"github.com/lyumen/lyumen/spool"
)

// TestSpool_Preallocated fills several segments, so that each next one is
// preallocated with zeros while the one before fills, and checks the two
// states a preallocated segment can be found in: a copy of the directory
// taken while the spool is open (what a crash leaves: zeros after the
// last frame) opens with every record and no corruption reported; and
// after Close no zeros and no unused segment are left.
func TestSpool_Preallocated(t *testing.T) {
	const segBytes, n = 16 << 10, 120
	dir := t.TempDir()
	s := mustOpen(t, dir, newStore(), spool.Options{SegmentBytes: segBytes})
	want := recordN(t, s, 0, n)

	crashed := t.TempDir()
	zeroTail := false
	for _, p := range segments(t, dir) {
		b := mustRead(t, p)
		if len(b) == segBytes && b[len(b)-1] == 0 {
			zeroTail = true
		}
		mustWrite(t, filepath.Join(crashed, filepath.Base(p)), b)
	}
	if !zeroTail {
		t.Error("no segment was preallocated")
	}
	st := newStore()
	var reports corruptions
	c := mustOpen(t, crashed, st, spool.Options{SegmentBytes: segBytes, OnCorrupt: reports.add})
	drain(t, c)
	mustClose(t, c)
	if got := reports.get(); len(got) > 0 {
		t.Errorf("zeros after the last frame reported as corruption: %v", got)
	}
	if diff := recordsDiff(want, st.records()); diff != "" {
		t.Errorf("records shipped from the copy (-want +got):\n%s", diff)
	}

	mustClose(t, s)
	for _, p := range segments(t, dir) {
		b := mustRead(t, p)
		if len(b) <= headerSize || b[len(b)-1] == 0 && len(b) == segBytes {
			t.Errorf("%s after Close: %d bytes, an unused or untrimmed segment", filepath.Base(p), len(b))
		}
	}
	st = newStore()
	s = mustOpen(t, dir, st, spool.Options{SegmentBytes: segBytes})
	drain(t, s)
	mustClose(t, s)
	if diff := recordsDiff(want, st.records()); diff != "" {
		t.Errorf("records shipped after Close (-want +got):\n%s", diff)
	}
	if segs := segments(t, dir); len(segs) != 0 {
		t.Errorf("segments left after shipping: %v", segs)
	}
}
