package spool_test

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/spool"
)

// FuzzReplay opens a spool whose one segment holds arbitrary bytes and ships
// what it finds. Open must not panic, and the records shipped must be
// exactly the frames, from the start, whose checksums match: never one
// after a bad frame, never one whose checksum did not match.
//
// Each input costs a few fsyncs; on tmpfs they are free:
//
//	TMPDIR=/dev/shm go test -run='^$' -fuzz=FuzzReplay -fuzztime=30s ./spool
func FuzzReplay(f *testing.F) {
	recs := []*lyumen.Record{
		{ID: id(1), Model: "m", Request: []byte(`{}`)},
		full(id(2)),
		{ID: id(3), Response: &lyumen.Response{Choices: []lyumen.Choice{{}}}, Attempts: []lyumen.Attempt{{}}},
	}
	dir := f.TempDir()
	s, err := spool.Open(dir, newStore(), spool.Options{})
	if err != nil {
		f.Fatal(err)
	}
	for _, r := range recs {
		if err := s.Record(f.Context(), r); err != nil {
			f.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		f.Fatal(err)
	}
	seg := mustRead(f, segments(f, dir)[0])
	// The records by payload, to tell which record a good frame holds.
	known := map[string]*lyumen.Record{}
	for i, p := range goodFrames(seg) {
		known[string(p)] = recs[i]
	}
	if len(known) != len(recs) {
		f.Fatalf("seed segment has %d good frames, want %d", len(known), len(recs))
	}

	offs := frameOffsets(f, seg)
	f.Add(seg)
	f.Add(seg[:offs[1]])                                                     // one record
	f.Add(seg[:offs[2]+5])                                                   // torn third frame
	f.Add(seg[:headerSize])                                                  // header only
	f.Add(seg[:3])                                                           // torn header
	f.Add([]byte{})                                                          // empty
	f.Add(append(slices.Clone(seg), 0))                                      // a stray byte
	f.Add(slices.Concat(seg[:offs[1]], seg[offs[2]:], seg[offs[1]:offs[2]])) // reordered
	flipped := slices.Clone(seg)
	flipped[offs[1]+20] ^= 4
	f.Add(flipped)

	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		mustWrite(t, filepath.Join(dir, "00000000000000000001.seg"), data)
		st := newStore()
		s, err := spool.Open(dir, st, spool.Options{})
		if err != nil {
			return // a segment of a newer version: refused, untouched
		}
		defer s.Close()
		drain(t, s)

		good := goodFrames(data)
		got := st.records()
		if len(got) > len(good) {
			t.Fatalf("shipped %d records, but only %d frames have matching checksums", len(got), len(good))
		}
		for i, p := range good {
			want, ok := known[string(p)]
			if !ok {
				return // a frame the fuzzer made with a matching checksum: anything may come of it
			}
			if i >= len(got) {
				t.Fatalf("shipped %d records, want the %d good frames", len(got), len(good))
			}
			if diff := recordDiff(stored(want), got[i]); diff != "" {
				t.Fatalf("record %d differs from its frame (-want +got):\n%s", i, diff)
			}
		}
		if len(st.ids()) != len(got) || st.dups != 0 {
			t.Fatalf("store saw duplicates")
		}
	})
}

// goodFrames returns the payloads of the frames of a segment, from the
// start up to the first frame whose length or checksum is wrong: what the
// format (segment.go) says a reader may trust. A bad header: none.
func goodFrames(b []byte) [][]byte {
	if len(b) < headerSize || !bytes.Equal(b[:headerSize], []byte("LYSPOOL\x01")) {
		return nil
	}
	table := crc32.MakeTable(crc32.Castagnoli)
	var frames [][]byte
	for b = b[headerSize:]; len(b) >= frameHeader; {
		n := uint64(binary.LittleEndian.Uint32(b))
		if n == 0 || n > uint64(len(b)-frameHeader) {
			break
		}
		crc := crc32.Update(crc32.Checksum(b[:4], table), table, b[frameHeader:frameHeader+n])
		if crc != binary.LittleEndian.Uint32(b[4:]) {
			break
		}
		frames = append(frames, b[frameHeader:frameHeader+n])
		b = b[frameHeader+n:]
	}
	return frames
}
