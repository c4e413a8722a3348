package spool_test

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen/spool"
)

// TestSpool_ProgressFailedWriteKeepsTheEarlier: a later progress whose
// write fails (EIO on fsync) leaves the earlier, durable one in force.
// The spool took a progress for the latest when it was appended, not when
// it was durable: the shipper then deleted the earlier one's segment
// without copying it, and a crash lost the exchange.
func TestSpool_ProgressFailedWriteKeepsTheEarlier(t *testing.T) {
	dir := t.TempDir()
	st := newStore()
	o := spool.Options{SegmentBytes: 8 << 10, Linger: -1}
	s := mustOpen(t, dir, st, o)
	var fail atomic.Bool
	spool.WrapSync(s, func(fsync func() error) error {
		if fail.Load() {
			return errors.New("input/output error")
		}
		return fsync()
	})
	rec := full(id(1000))
	first := sofar(rec, "Hel")
	progress(t, s, first) // durable: the client may now be sent "Hel"
	fail.Store(true)
	if err := s.Progress(t.Context(), sofar(rec, "Hello, wor")); err == nil {
		t.Fatal("Progress returned nil although its fsync failed")
	}
	fail.Store(false)
	recordN(t, s, 0, 20) // more than a segment: the one holding "Hel" is shipped and deleted
	drain(t, s)
	mustClose(t, s) // the process dies with the stream open

	afterCrash(t, dir, st, o, rec.ID) // its only durable progress must not have been deleted uncopied
}

// TestSpool_ProgressFillingASegmentIsKept: open progress that is most of a
// segment keeps the segment rather than be copied. Copied, it filled a
// fresh segment, sealed at once, which the shipper retired and copied
// again: a loop of writes and fsyncs for as long as the stream ran, with
// no traffic at all (a 16 MiB request against 16 MiB segments, or many
// open streams). The kept segment still gives the exchange its record
// after a crash.
func TestSpool_ProgressFillingASegmentIsKept(t *testing.T) {
	dir := t.TempDir()
	var syncs atomic.Int64
	o := spool.Options{SegmentBytes: 8 << 10, Linger: -1, DrainTimeout: time.Second, // the drain loops too, for all of it
		OnSync: func(int, time.Duration) { syncs.Add(1) }}
	s := mustOpen(t, dir, newStore(), o)
	rec := full(id(1000))
	rec.Request = []byte(`{"messages":[{"role":"user","content":"` + strings.Repeat("x", 10<<10) + `"}]}`)
	progress(t, s, sofar(rec, "Hel")) // larger than a segment
	recordN(t, s, 0, 3)

	done := make(chan error, 1)
	runCtx, stop := context.WithCancel(t.Context())
	go func() { done <- s.Run(runCtx) }()
	time.Sleep(200 * time.Millisecond) // let the shipper settle
	before := syncs.Load()
	time.Sleep(1500 * time.Millisecond) // nothing recorded meanwhile; a sweep comes
	if n := syncs.Load() - before; n > 2 {
		t.Errorf("%d fsyncs in 1.5 s with nothing recorded: the shipper keeps copying the open progress", n)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mustClose(t, s) // the process dies with the stream open

	afterCrash(t, dir, newStore(), o, rec.ID)
	if segs := segments(t, dir); len(segs) > 1 {
		t.Errorf("segments left once the interrupted exchange has its record: %v", segs)
	}
}

// TestSpool_ProgressOfANewerReleasePassedOver: a progress around a newer
// release's record (after a downgrade) is passed over like any progress.
// It was taken for corrupt: the rest of the segment, records included,
// went to corrupt/.
func TestSpool_ProgressOfANewerReleasePassedOver(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, newStore(), spool.Options{})
	progress(t, s, sofar(full(id(1000)), "Hel")) // gen 1: tag, 1 byte of gen, then the record's version
	s.Record(t.Context(), full(id(1000)))
	want := recordN(t, s, 0, 3)
	mustClose(t, s)

	path := segments(t, dir)[0]
	b := mustRead(t, path)
	at := headerSize
	n := int(binary.LittleEndian.Uint32(b[at:]))
	if b[at+frameHeader] != 0x80 {
		t.Fatalf("first frame is not a progress: %#x", b[at+frameHeader])
	}
	b[at+frameHeader+2] = 99 // the inner record's version: a newer release's
	tab := crc32.MakeTable(crc32.Castagnoli)
	crc := crc32.Update(0, tab, b[at:at+4])
	crc = crc32.Update(crc, tab, b[at+frameHeader:at+frameHeader+n])
	binary.LittleEndian.PutUint32(b[at+4:], crc)
	mustWrite(t, path, b)

	st := newStore()
	s = mustOpen(t, dir, st, spool.Options{})
	drain(t, s)
	mustClose(t, s)
	wantIDs := append([]string{id(1000)}, ids(want)...)
	if diff := cmp.Diff(wantIDs, st.ids()); diff != "" {
		t.Errorf("stored (-want +got):\n%s", diff)
	}
	if q := quarantined(t, dir); len(q) > 0 {
		t.Errorf("quarantined as corrupt: %v", slices.Collect(maps.Keys(q)))
	}
}
