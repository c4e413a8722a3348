package spool_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/spool"
)

// The segment format, as documented in segment.go: an 8-byte header, then
// frames of [length uint32][CRC-32C uint32][payload], little-endian.
const (
	headerSize  = 8
	frameHeader = 8
)

func TestSpool_Corrupt(t *testing.T) {
	const n = 10
	type damage struct {
		name string
		// damage changes the segment b whose frames start at offs (offs[n]
		// is the end of the file) and returns the result.
		damage func(b []byte, offs []int64) []byte
		keep   int  // records still shipped: those before the cut
		cut    int  // the frame where the cut is, -1 for none; n for the end of the good frames
		quar   bool // the bytes after the cut are quarantined
	}
	last := func(offs []int64) (int64, int64) { return offs[n-1], offs[n] - offs[n-1] }
	flip := func(i int, at func(start, size int64) int64) func([]byte, []int64) []byte {
		return func(b []byte, offs []int64) []byte {
			pos := at(offs[i], offs[i+1]-offs[i])
			b[pos] ^= 0x10
			return b
		}
	}
	payloadMiddle := func(start, size int64) int64 { return start + frameHeader + (size-frameHeader)/2 }
	setLength := func(i int, v uint32) func([]byte, []int64) []byte {
		return func(b []byte, offs []int64) []byte {
			binary.LittleEndian.PutUint32(b[offs[i]:], v)
			return b
		}
	}

	tests := []damage{
		{name: "intact", damage: func(b []byte, _ []int64) []byte { return b }, keep: n, cut: -1},
		{name: "bit flip in the last payload", damage: flip(n-1, payloadMiddle), keep: n - 1, cut: n - 1},
		{name: "bit flip in the last checksum", damage: flip(n-1, func(s, _ int64) int64 { return s + 5 }), keep: n - 1, cut: n - 1},
		{name: "bit flip in the last length", damage: flip(n-1, func(s, _ int64) int64 { return s }), keep: n - 1, cut: n - 1},
		{name: "bit flip in a middle payload", damage: flip(4, payloadMiddle), keep: 4, cut: 4, quar: true},
		{name: "bit flip in the first payload", damage: flip(0, payloadMiddle), keep: 0, cut: 0, quar: true},
		{name: "garbage length in the middle", damage: setLength(4, 0xfffffff0), keep: 4, cut: 4, quar: true},
		{name: "zero length in the middle", damage: setLength(4, 0), keep: 4, cut: 4, quar: true},
		{name: "length one short in the middle", damage: func(b []byte, offs []int64) []byte {
			l := binary.LittleEndian.Uint32(b[offs[4]:])
			return setLength(4, l-1)(b, offs)
		}, keep: 4, cut: 4, quar: true},
		{name: "zeros after the last frame", damage: func(b []byte, _ []int64) []byte {
			return append(b, make([]byte, 4096)...) // the file grew, the data never came
		}, keep: n, cut: n},
		{name: "last frames zeroed in place", damage: func(b []byte, offs []int64) []byte {
			clear(b[offs[n-3]:]) // lost blocks read back as zeros: not a preallocated segment's room
			return b
		}, keep: n - 3, cut: n - 3},
		{name: "garbage after the last frame", damage: func(b []byte, _ []int64) []byte {
			g := make([]byte, 1000)
			rand.NewChaCha8([32]byte{1}).Read(g)
			return append(b, g...)
		}, keep: n, cut: n},
		{name: "last frame duplicated with a bad checksum", damage: func(b []byte, offs []int64) []byte {
			start, size := last(offs)
			dup := slices.Clone(b[start : start+size])
			dup[5] ^= 1
			return append(b, dup...)
		}, keep: n, cut: n},
	}
	// A crash tears the last frame at any offset inside it.
	rng := rand.New(rand.NewPCG(7, 11))
	cuts := []int64{1, 3, 4, 7, 8, 9}
	for range 10 {
		cuts = append(cuts, 9+rng.Int64N(500))
	}
	for _, c := range cuts {
		tests = append(tests, damage{
			name: fmt.Sprintf("torn %d bytes into the last frame", c),
			damage: func(b []byte, offs []int64) []byte {
				start, size := last(offs)
				return b[:start+min(c, size-1)]
			},
			keep: n - 1, cut: n - 1,
		})
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := mustOpen(t, dir, newStore(), spool.Options{})
			want := recordN(t, s, 0, n)
			mustClose(t, s)
			path := segments(t, dir)[0]
			orig := mustRead(t, path)
			offs := frameOffsets(t, orig)
			if len(offs) != n+1 {
				t.Fatalf("segment has %d frames, want %d", len(offs)-1, n)
			}
			damaged := tc.damage(slices.Clone(orig), offs)
			mustWrite(t, path, damaged)

			st := newStore()
			var reports corruptions
			s = mustOpen(t, dir, st, spool.Options{OnCorrupt: reports.add})
			var wantReports []corruption
			if tc.cut >= 0 {
				wantReports = []corruption{{path, offs[tc.cut]}}
			}
			if diff := cmp.Diff(wantReports, reports.get(), cmp.AllowUnexported(corruption{})); diff != "" {
				t.Errorf("corruption reported (-want +got):\n%s", diff)
			}
			if tc.cut >= 0 && tc.keep > 0 {
				if got := mustRead(t, path); !bytes.Equal(got, damaged[:offs[tc.cut]]) {
					t.Errorf("segment after Open: %d bytes, want the %d before the cut", len(got), offs[tc.cut])
				}
			}
			wantQuar := map[string][]byte{}
			if tc.quar {
				wantQuar[fmt.Sprintf("%s.%d", filepath.Base(path), offs[tc.cut])] = damaged[offs[tc.cut]:]
			}
			if diff := cmp.Diff(wantQuar, quarantined(t, dir)); diff != "" {
				t.Errorf("quarantined files (-want +got):\n%s", diff)
			}

			drain(t, s)
			if diff := recordsDiff(want[:tc.keep], st.records()); diff != "" {
				t.Errorf("records shipped (-want +got):\n%s", diff)
			}
			mustClose(t, s)

			// The repair holds: opening again finds nothing more.
			reports = corruptions{}
			s = mustOpen(t, dir, st, spool.Options{OnCorrupt: reports.add})
			if got := reports.get(); len(got) > 0 {
				t.Errorf("second Open reported %v, want nothing", got)
			}
			mustClose(t, s)
		})
	}
}

// TestSpool_CorruptWhileShipping: a segment that checked out on Open and was
// damaged on disk afterwards. The shipper must not ship the bad frame; it
// quarantines from there to the segment's end and goes on with the next.
func TestSpool_CorruptWhileShipping(t *testing.T) {
	dir := t.TempDir()
	o := spool.Options{SegmentBytes: 4 << 10}
	s := mustOpen(t, dir, newStore(), o)
	want := recordN(t, s, 0, 20)
	mustClose(t, s)
	segs := segments(t, dir)
	if len(segs) < 2 {
		t.Fatalf("%d segments, want at least 2", len(segs))
	}

	st := newStore()
	var reports corruptions
	o.OnCorrupt = reports.add
	s = mustOpen(t, dir, st, o)
	b := mustRead(t, segs[0])
	offs := frameOffsets(t, b)
	b[offs[1]+frameHeader+3] ^= 1 // the second record of the first segment
	mustWrite(t, segs[0], b)
	drain(t, s)

	wantShipped := append([]*lyumen.Record{want[0]}, want[len(offs)-1:]...)
	if diff := recordsDiff(wantShipped, st.records()); diff != "" {
		t.Errorf("records shipped (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]corruption{{segs[0], offs[1]}}, reports.get(), cmp.AllowUnexported(corruption{})); diff != "" {
		t.Errorf("corruption reported (-want +got):\n%s", diff)
	}
	wantQuar := map[string][]byte{fmt.Sprintf("%s.%d", filepath.Base(segs[0]), offs[1]): b[offs[1]:]}
	if diff := cmp.Diff(wantQuar, quarantined(t, dir)); diff != "" {
		t.Errorf("quarantined files (-want +got):\n%s", diff)
	}
	if recs, bytes := s.Pending(); recs != 0 || bytes != 0 {
		t.Errorf("Pending() = %d records, %d bytes, want 0, 0", recs, bytes)
	}
}

func TestSpool_CorruptHeader(t *testing.T) {
	tests := []struct {
		name   string
		damage func(b []byte) []byte
		quar   bool
	}{
		{"torn while created", func(b []byte) []byte { return b[:3] }, false},
		{"empty file", func(b []byte) []byte { return b[:0] }, false},
		{"not a segment", func(b []byte) []byte { b[0] = 'X'; return b }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := mustOpen(t, dir, newStore(), spool.Options{})
			recordN(t, s, 0, 3)
			mustClose(t, s)
			path := segments(t, dir)[0]
			damaged := tc.damage(mustRead(t, path))
			mustWrite(t, path, damaged)

			st := newStore()
			var reports corruptions
			s = mustOpen(t, dir, st, spool.Options{OnCorrupt: reports.add})
			if diff := cmp.Diff([]corruption{{path, 0}}, reports.get(), cmp.AllowUnexported(corruption{})); diff != "" {
				t.Errorf("corruption reported (-want +got):\n%s", diff)
			}
			wantQuar := map[string][]byte{}
			if tc.quar {
				wantQuar[filepath.Base(path)+".0"] = damaged
			}
			if diff := cmp.Diff(wantQuar, quarantined(t, dir)); diff != "" {
				t.Errorf("quarantined files (-want +got):\n%s", diff)
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Errorf("damaged segment still in place (stat: %v)", err)
			}
			drain(t, s)
			if got := st.ids(); len(got) != 0 {
				t.Errorf("shipped %v, want nothing", got)
			}
			// New records go on after the damaged segment's number.
			mustClose(t, s)
			s = mustOpen(t, dir, st, spool.Options{})
			recordN(t, s, 10, 2)
			drain(t, s)
			if got := st.ids(); len(got) != 2 {
				t.Errorf("shipped %d records after the repair, want 2", len(got))
			}
		})
	}
}

type corruption struct {
	segment string
	offset  int64
}

type corruptions struct {
	mu   sync.Mutex
	list []corruption
}

func (c *corruptions) add(segment string, offset int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.list = append(c.list, corruption{segment, offset})
}

func (c *corruptions) get() []corruption {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.list)
}

// frameOffsets parses a segment as documented and returns where each frame
// starts, and the end of the last. It does not check checksums.
func frameOffsets(tb testing.TB, b []byte) []int64 {
	tb.Helper()
	if len(b) < headerSize || string(b[:7]) != "LYSPOOL" {
		tb.Fatalf("segment of %d bytes has no header", len(b))
	}
	offs := []int64{headerSize}
	for off := int64(headerSize); off < int64(len(b)); {
		off += frameHeader + int64(binary.LittleEndian.Uint32(b[off:]))
		if off > int64(len(b)) {
			tb.Fatalf("frame runs past the end of the segment")
		}
		offs = append(offs, off)
	}
	return offs
}

// quarantined returns the files in dir/corrupt by name.
func quarantined(tb testing.TB, dir string) map[string][]byte {
	tb.Helper()
	files := map[string][]byte{}
	entries, err := os.ReadDir(filepath.Join(dir, "corrupt"))
	if os.IsNotExist(err) {
		return files
	}
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range entries {
		files[e.Name()] = mustRead(tb, filepath.Join(dir, "corrupt", e.Name()))
	}
	return files
}

// TestSpool_NewerRecordVersion: a whole frame whose record a newer release
// wrote (after a downgrade) is not corrupt: it is set aside in newer/, as
// written, for that release, and the records around it ship. It was
// quarantined as corrupt with everything after it.
func TestSpool_NewerRecordVersion(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, newStore(), spool.Options{})
	want := recordN(t, s, 0, 3)
	mustClose(t, s)
	path := segments(t, dir)[0]
	b := mustRead(t, path)
	second := headerSize + frameHeader + int(binary.LittleEndian.Uint32(b[headerSize:]))
	n := int(binary.LittleEndian.Uint32(b[second:]))
	b[second+frameHeader] = 99 // the record's version byte
	crc := crc32.Update(0, crc32.MakeTable(crc32.Castagnoli), b[second:second+4])
	crc = crc32.Update(crc, crc32.MakeTable(crc32.Castagnoli), b[second+frameHeader:second+frameHeader+n])
	binary.LittleEndian.PutUint32(b[second+4:], crc)
	mustWrite(t, path, b)

	st := newStore()
	s = mustOpen(t, dir, st, spool.Options{DrainTimeout: 100 * time.Millisecond})
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	mustClose(t, s)
	if diff := cmp.Diff(ids([]*lyumen.Record{want[0], want[2]}), st.ids()); diff != "" {
		t.Errorf("stored (-want +got):\n%s", diff)
	}
	if q := quarantined(t, dir); len(q) > 0 {
		t.Errorf("quarantined as corrupt: %v", slices.Collect(maps.Keys(q)))
	}
	kept, err := os.ReadDir(filepath.Join(dir, "newer"))
	if err != nil || len(kept) != 1 {
		t.Fatalf("newer/: %v, %v", kept, err)
	}
	if got := mustRead(t, filepath.Join(dir, "newer", kept[0].Name())); !bytes.Equal(got, b[second:second+frameHeader+n]) {
		t.Errorf("newer/ holds %d bytes, not the frame as written", len(got))
	}
}
