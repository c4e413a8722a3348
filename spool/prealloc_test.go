package spool_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
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

// TestSpool_FirstSegmentPreallocated checks that the segment a spool
// starts with is preallocated too, so that its fsyncs need not commit a new
// file size; and that a spool closed before any record leaves no segment.
func TestSpool_FirstSegmentPreallocated(t *testing.T) {
	const segBytes = 64 << 10
	dir := t.TempDir()
	s := mustOpen(t, dir, newStore(), spool.Options{SegmentBytes: segBytes})
	recordN(t, s, 0, 1)
	segs := segments(t, dir)
	if len(segs) != 1 {
		t.Fatalf("segments after one record: %v", segs)
	}
	if b := mustRead(t, segs[0]); len(b) != segBytes || b[len(b)-1] != 0 {
		t.Errorf("the first segment holds %d bytes after one record: not preallocated to %d", len(b), segBytes)
	}
	mustClose(t, s)

	empty := t.TempDir()
	mustClose(t, mustOpen(t, empty, newStore(), spool.Options{SegmentBytes: segBytes}))
	if segs := segments(t, empty); len(segs) != 0 {
		t.Errorf("segments left by a spool that took no record: %v", segs)
	}
}

// TestSpool_PreallocationCutShort checks that a segment whose
// preallocation a crash interrupted (left under its temporary name) is
// removed by Open without a report: it never held a record.
func TestSpool_PreallocationCutShort(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, newStore(), spool.Options{})
	want := recordN(t, s, 0, 3)
	mustClose(t, s)
	unfinished := filepath.Join(dir, "00000000000000000009.seg.prep")
	mustWrite(t, unfinished, []byte("LYSP"))

	st := newStore()
	var reports corruptions
	s = mustOpen(t, dir, st, spool.Options{OnCorrupt: reports.add})
	drain(t, s)
	mustClose(t, s)
	if got := reports.get(); len(got) > 0 {
		t.Errorf("reported: %v", got)
	}
	if diff := recordsDiff(want, st.records()); diff != "" {
		t.Errorf("records shipped (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(unfinished); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("unfinished segment still there: %v", err)
	}
}

// TestSpool_PreallocationWithinCap checks that the files of a spool at its
// cap, preallocated room included, stay within MaxBytes.
func TestSpool_PreallocationWithinCap(t *testing.T) {
	const maxBytes, segBytes = 256 << 10, 16 << 10
	dir := t.TempDir()
	s := mustOpen(t, dir, newStore(), spool.Options{MaxBytes: maxBytes, SegmentBytes: segBytes})
	defer mustClose(t, s)
	for i := 0; ; i++ {
		if err := s.Record(t.Context(), full(id(i))); errors.Is(err, spool.ErrFull) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	var onDisk int64
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() && strings.Contains(e.Name(), ".seg") {
			onDisk += info.Size()
		}
	}
	if onDisk > maxBytes {
		t.Errorf("segments take %d bytes on disk at the cap of %d (Bytes says %d)", onDisk, maxBytes, s.Bytes())
	}
}
