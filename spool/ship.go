package spool

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/lowprio"
)

// Run ships records from the segments to the Writer until ctx ends: in
// order, in batches of up to BatchSize, each as soon as the store has taken
// the one before. A failing Writer is retried with backoff (up to
// MaxBackoff); a record is set aside only when the Writer rejects it
// (lyumen.ErrRejected), into dir/rejected/. A segment is deleted once
// every record in it is committed or set aside.
//
// When ctx ends, Run stops intake (Record returns ErrClosed), waits for
// records being written, and ships what is left for up to DrainTimeout.
// Records it could not ship stay on disk and ship after the next Open.
// Run returns nil then; it returns an error only if called twice or after
// Close.
func (s *Spool) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.running || s.closed {
		s.mu.Unlock()
		return errors.New("spool run: already running or closed")
	}
	s.running = true
	s.mu.Unlock()

	sh := &shipper{s: s, pinned: s.pinnedAtOpen}
	s.pinnedAtOpen = nil
	defer sh.closeFile()
	if s.o.LowPriority {
		if t, err := lowprio.Start(); err != nil {
			s.logger.InfoContext(ctx, "shipping at the usual CPU priority", "reason", err)
		} else {
			sh.low = t
		}
	}
	sh.ship(ctx, false)
	if sh.low != nil {
		sh.low.Stop()
		sh.low = nil // the drain ships at the usual priority
	}

	s.stop()
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.o.DrainTimeout)
	defer cancel()
	sh.ship(dctx, true)
	sh.sweep(dctx)
	sh.checkpoint(true)
	if n, b := s.Pending(); n > 0 {
		s.logger.WarnContext(ctx, "spool not drained; records stay on disk for the next start",
			"records", n, "bytes", b)
	} else {
		s.logger.InfoContext(ctx, "spool drained")
	}
	return nil
}

// shipper is Run's state: where in which segment shipping is.
type shipper struct {
	s       *Spool
	low     *lowprio.Thread // writes batches, when set (Options.LowPriority)
	seg     *segment        // the oldest segment, being shipped
	f       *os.File        // read-only, on seg
	off     int64           // next frame to ship in seg
	buf     []byte
	saved   position // the last checkpoint written
	savedAt time.Time
	// While a batch the Writer rejected is narrowed down to the record it
	// refuses (see reject), batches hold at most limit records, up to
	// offset narrowEnd.
	limit     int
	narrowEnd int64
	// passed is the progress frames passed in seg, for retire.
	passed []progressAt
	// pinned is the shipped segments kept for the open progress in them
	// (see sweep), oldest first.
	pinned []pinned
	// endedSaved is what the ended file names, as this process wrote it.
	endedSaved map[string]bool
	// retryAt is when what failed in a sweep (recording what Open found
	// interrupted, a copy, a deletion) is tried again; a segment deleted
	// makes it now.
	retryAt time.Time
}

// pinned is a shipped segment kept for the progress frames in it that were
// open when it was retired.
type pinned struct {
	seg        *segment
	passed     []progressAt // those that may still be the latest of an open exchange
	superseded []string     // exchanges still open whose progress here is not their latest
	ended      []string     // exchanges with progress here that have their record
}

// refresh sorts p's progress by open (Spool.open, under its lock): the
// latest of an open exchange stays in passed; a superseded one waits in
// superseded; the progress of an exchange that has its record, for the
// ended file, goes to ended.
func (p *pinned) refresh(open map[string]uint64) {
	live := p.passed[:0]
	for _, f := range p.passed {
		switch gen, ok := open[f.id]; {
		case gen == f.gen:
			live = append(live, f)
		case ok:
			p.superseded = append(p.superseded, f.id)
		default:
			p.ended = append(p.ended, f.id)
		}
	}
	clear(p.passed[len(live):])
	p.passed = live
	still := p.superseded[:0]
	for _, id := range p.superseded {
		if _, ok := open[id]; ok {
			still = append(still, id)
		} else {
			p.ended = append(p.ended, id)
		}
	}
	p.superseded = still
}

// progressAt is a progress frame in a segment.
type progressAt struct {
	id        string
	gen       uint64
	off, size int64
}

// batch is records read from one segment, ending at offset end, and the
// progress frames among them, which are passed over, not shipped.
type batch struct {
	recs     []*lyumen.Record
	progress []progressAt
	frames   int // records and progress
	end      int64
	bytes    int64
}

// ship sends batches until ctx ends or, when drain is set, until every
// durable record has been shipped. After a failure it waits (backing off up
// to MaxBackoff) and reads the batch again, so that records that arrived
// meanwhile go with it.
func (sh *shipper) ship(ctx context.Context, drain bool) {
	s := sh.s
	backoff := firstBackoff
	for ctx.Err() == nil {
		b, err := sh.next(ctx)
		n := 0
		if err == nil && b != nil {
			n = len(b.recs)
			if err = sh.write(ctx, b.recs); err == nil {
				sh.commit(b)
				backoff = firstBackoff
				continue
			}
			if ctx.Err() != nil {
				return
			}
			if errors.Is(err, lyumen.ErrRejected) {
				if err = sh.reject(b, err); err == nil {
					continue
				}
			}
			err = fmt.Errorf("write records: %w", err)
		}
		if err != nil { // nothing else is skipped: wait and try again
			s.logger.ErrorContext(ctx, "spool shipping; retrying", "records", n, "retry_in", backoff, "err", err)
			if !sleep(ctx, backoff, nil) {
				return
			}
			backoff = min(2*backoff, s.o.MaxBackoff)
			continue
		}
		if drain {
			return
		}
		sh.checkpoint(false)
		select {
		case <-s.wake:
			if n, _ := s.Pending(); s.o.Linger > 0 && n < int64(s.o.BatchSize) {
				sleep(ctx, s.o.Linger, s.now) // let a batch gather; ctx's end is seen above
			}
		case <-ctx.Done():
		}
	}
}

// write hands recs to the Writer, for at most WriteTimeout: on the thread
// of the lowest priority, with ctx marked so that the Writer's work stays
// there (lowprio.Mark), unless the spool is behind. The shipper's own
// bookkeeping stays on its goroutine: the spool's lock, which every
// Record takes, is never held by a thread the kernel keeps waiting.
func (sh *shipper) write(ctx context.Context, recs []*lyumen.Record) error {
	if len(recs) == 0 { // only progress frames
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, sh.s.o.WriteTimeout)
	defer cancel()
	if sh.low == nil || sh.s.behind() {
		return sh.s.w.WriteRecords(ctx, recs)
	}
	var err error
	if !sh.low.Do(func() { err = sh.s.w.WriteRecords(lowprio.Mark(ctx), recs) }) {
		// The Writer ended its goroutine (runtime.Goexit) and with it the
		// thread: the batch is not known to be stored.
		sh.low.Stop()
		sh.low = nil
		return errors.New("the store's writer ended its goroutine; shipping at the usual priority from now on")
	}
	return err
}

// behind reports whether more is pending than a starved shipper may
// leave: see Options.LowPriority.
func (s *Spool) behind() bool {
	n, b := s.Pending()
	return n > 4*int64(s.o.BatchSize) || b > s.o.MaxBytes/8
}

// sleep waits d, or less when cut delivers; it reports false if ctx ended.
func sleep(ctx context.Context, d time.Duration, cut <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-cut:
		return true
	case <-ctx.Done():
		return false
	}
}

// ShipNow has Run ship the pending records at once rather than let a batch
// gather for Linger: for a caller about to wait for the spool to empty. A
// call while Run is not lingering cuts its next linger short.
func (s *Spool) ShipNow() {
	select {
	case s.now <- struct{}{}:
	default:
	}
}

// reject narrows a batch the Writer rejected down to the record it
// refuses, halving the batches from there, rather than retry it forever
// and ship nothing behind it. A batch of one record that is rejected is
// set aside: its frame is copied to dir/rejected/, durably, and skipped.
func (sh *shipper) reject(b *batch, cause error) error {
	if len(b.recs) > 1 {
		if sh.limit == 0 {
			sh.narrowEnd = b.end
		}
		sh.limit = len(b.recs) / 2
		return nil
	}
	q, err := quarantine(sh.s.dir, rejectedDir, sh.f, sh.off, b.end)
	if err != nil {
		return err
	}
	sh.s.logger.Error("spool record rejected by the store; set aside", "id", b.recs[0].ID, "quarantine", q, "err", cause)
	sh.s.o.OnRejected(b.recs[0].ID)
	sh.limit = 0
	sh.pass(b)
	sh.checkpoint(true) // a restart must not set it aside again
	return nil
}

// commit moves past a batch the Writer committed.
func (sh *shipper) commit(b *batch) {
	sh.pass(b)
	sh.s.o.OnShipped(len(b.recs))
	sh.checkpoint(false)
}

// pass moves past b's records, which are no longer pending.
func (sh *shipper) pass(b *batch) {
	s := sh.s
	sh.off = b.end
	if sh.off >= sh.narrowEnd {
		sh.limit = 0
	}
	sh.passed = append(sh.passed, b.progress...)
	n := int64(len(b.recs))
	s.mu.Lock()
	sh.seg.recs -= n
	sh.seg.bytes -= b.bytes
	s.pending -= n
	s.pendBytes -= b.bytes
	s.mu.Unlock()
}

// next reads the next batch: nil when every durable record is shipped.
// It deletes segments that are sealed and fully shipped on the way.
func (sh *shipper) next(ctx context.Context) (*batch, error) {
	s := sh.s
	sh.sweep(ctx)
	for ctx.Err() == nil {
		s.mu.Lock()
		if len(s.segs) == 0 {
			s.mu.Unlock()
			return nil, nil
		}
		seg := s.segs[0]
		end, sealed := seg.size, seg.sealed
		s.mu.Unlock()

		if sh.seg != seg {
			sh.closeFile()
			sh.seg, sh.off, sh.passed = seg, seg.start, append(sh.passed[:0], seg.early...)
		}
		if sh.off >= end {
			if !sealed {
				return nil, nil
			}
			sh.retire(ctx, seg)
			continue
		}
		if sh.f == nil {
			f, err := os.Open(seg.path)
			if err != nil {
				return nil, fmt.Errorf("open segment: %w", err)
			}
			sh.f = f
		}
		b, err := sh.read(end)
		if err != nil || b != nil {
			return b, err
		}
		// A corrupt frame was cut out; go on after it.
	}
	return nil, nil
}

// read decodes frames from sh.off up to end, the segment's durable size.
// Offsets up to end are frame boundaries, so a frame that does not check
// out is corrupt (the disk changed it since it was written): read
// quarantines the bytes from it to end, reports them and moves past them,
// returning a nil batch.
func (sh *shipper) read(end int64) (*batch, error) {
	n := int(min(end-sh.off, maxRead))
	sh.buf = slices.Grow(sh.buf[:0], n)[:n]
	if _, err := sh.f.ReadAt(sh.buf, sh.off); err != nil {
		return nil, fmt.Errorf("read segment %s at %d: %w", sh.seg.path, sh.off, err)
	}
	b := &batch{end: sh.off}
	most := sh.s.o.BatchSize
	if sh.limit > 0 {
		most = sh.limit
	}
	for p := 0; p < len(sh.buf) && len(b.recs) < most; {
		rest := sh.buf[p:]
		need := int64(frameHeader)
		if len(rest) >= frameHeader {
			need += int64(binary.LittleEndian.Uint32(rest))
		}
		if need > int64(len(rest)) && b.end+need <= end {
			if p > 0 {
				break // the frame continues past this read; it starts the next batch
			}
			// One frame larger than maxRead.
			sh.buf = slices.Grow(sh.buf[:0], int(need))[:need]
			if _, err := sh.f.ReadAt(sh.buf, sh.off); err != nil {
				return nil, fmt.Errorf("read segment %s at %d: %w", sh.seg.path, sh.off, err)
			}
			continue
		}
		payload, size, ok := frameAt(rest)
		var rec *lyumen.Record
		progress := ok && payload[0] == progressTag
		if ok && !progress {
			var err error
			rec, err = decodeRecord(payload)
			if errors.Is(err, errNewer) {
				if b.frames > 0 {
					break // ship the records before it
				}
				// Not corrupt, and not to be lost: set aside for the
				// release that wrote it. Waiting for it here would hold
				// back every record after it until the spool filled.
				return nil, sh.setAside(int64(size), err)
			}
			ok = err == nil
		}
		if !ok {
			if b.frames > 0 {
				break // ship the good records first
			}
			return nil, sh.skip(end)
		}
		if progress {
			// Passed over, never shipped (a newer release's too); noted
			// for retire, which keeps it while its exchange is open.
			if id, gen, _, good := frameKey(payload); good {
				b.progress = append(b.progress, progressAt{id: string(id), gen: gen, off: b.end, size: int64(size)})
			}
		} else {
			b.recs = append(b.recs, rec)
		}
		b.frames++
		b.end += int64(size)
		b.bytes += int64(size)
		p += size
	}
	return b, nil
}

// skip quarantines the bytes from sh.off to end and moves past them.
func (sh *shipper) skip(end int64) error {
	q, err := quarantine(sh.s.dir, corruptDir, sh.f, sh.off, end)
	if err != nil {
		return err
	}
	sh.s.corrupt(sh.seg.path, sh.off, end-sh.off, q)
	sh.off, sh.limit = end, 0
	// A restart must not find the same frame again and quarantine the
	// good records after it.
	sh.checkpoint(true)
	return nil
}

// setAside copies the size bytes of the frame at sh.off to the spool's
// newer directory and moves past them.
func (sh *shipper) setAside(size int64, why error) error {
	q, err := quarantine(sh.s.dir, newerDir, sh.f, sh.off, sh.off+size)
	if err != nil {
		return err
	}
	sh.s.logger.Error("spool record written by a newer release; set aside for it to ship", "segment", sh.seg.path,
		"offset", sh.off, "kept", q, "err", why)
	sh.off, sh.limit = sh.off+size, 0
	sh.checkpoint(true) // a restart must not find it again
	return nil
}

// retire deals with a sealed segment whose every frame is shipped or
// passed over: it is kept (pinned) for sweep to delete, at once unless it
// holds the latest progress of an exchange still open.
func (sh *shipper) retire(ctx context.Context, seg *segment) {
	s := sh.s
	sh.closeFile()
	s.mu.Lock()
	s.segs = s.segs[1:]
	s.pending -= seg.recs // records cut out as corrupt, if any
	s.pendBytes -= seg.bytes
	s.mu.Unlock()
	sh.pinned = append(sh.pinned, pinned{seg: seg, passed: slices.Clone(sh.passed)})
	sh.seg = nil
	sh.sweep(ctx)
}

// sweep deletes the pinned segments it may. The latest progress of an
// exchange still open must outlive the process, for the next Open to
// record it should the process die before the exchange ends: a segment
// holding some is kept while they are most of it, and otherwise deleted
// once they are copied to the end of the log, durably. Copying only from
// segments mostly of other frames keeps copies from filling segments that
// are copied from again, over and over; the segments kept hold at most
// twice the open progress. It runs before every batch, so that a segment
// goes once its exchanges have their records, before those records'
// segments can go. It also records what Open found interrupted, first.
func (sh *shipper) sweep(ctx context.Context) {
	s := sh.s
	now := time.Now()
	if len(s.found) > 0 && !now.Before(sh.retryAt) {
		if err := s.recordInterrupted(ctx); err != nil {
			s.logger.ErrorContext(ctx, "spool could not record the interrupted exchanges; retrying", "err", err)
			sh.retryAt = now.Add(s.o.MaxBackoff)
		}
	}
	if len(sh.pinned) == 0 {
		return
	}
	s.mu.Lock()
	for i := range sh.pinned {
		sh.pinned[i].refresh(s.open)
	}
	for id := range s.foundLeftover {
		if _, ok := s.open[id]; !ok {
			s.endedAtOpen[id] = true
			delete(s.foundLeftover, id)
		}
	}
	s.mu.Unlock()
	kept := sh.pinned[:0]
	for _, p := range sh.pinned {
		if !sh.unpin(ctx, &p, now) {
			kept = append(kept, p)
		}
	}
	clear(sh.pinned[len(kept):])
	sh.pinned = kept
}

// saveEnded makes sure the ended file names every exchange with a record
// whose progress is in a pinned segment, before a segment goes: it may be
// the one with their record.
func (sh *shipper) saveEnded(ctx context.Context) {
	s := sh.s
	ids := maps.Clone(s.endedAtOpen)
	if ids == nil {
		ids = map[string]bool{}
	}
	for _, p := range sh.pinned {
		for _, id := range p.ended {
			ids[id] = true
		}
	}
	fresh := false
	for id := range ids {
		fresh = fresh || !sh.endedSaved[id]
	}
	if !fresh {
		return
	}
	if err := writeEnded(s.dir, ids); err != nil {
		// Deleting on matters more (a full disk needs the room): at
		// worst a crash now makes the next start record one of these
		// again, as interrupted, after its real record (a store keeps
		// the first it gets of an ID).
		s.logger.WarnContext(ctx, "spool could not write its ended file; deleting segments all the same", "err", err)
		return
	}
	sh.endedSaved = ids
}

// unpin deletes p's segment, after copying its open progress when that is
// the lesser part of it; it reports whether the segment went. A segment
// that cannot be copied from stays, for the next sweep.
func (sh *shipper) unpin(ctx context.Context, p *pinned, now time.Time) bool {
	s := sh.s
	live := p.passed // refreshed by sweep
	var size int64
	for _, f := range live {
		size += f.size
	}
	if len(live) > 0 && 2*size > p.seg.size {
		return false
	}
	if len(live) > 0 {
		if now.Before(sh.retryAt) {
			return false
		}
		if err := sh.carry(ctx, p.seg, live); err != nil {
			if !errors.Is(err, errEnding) {
				// A failed write leaves an empty segment to retire, whose
				// sweep would try again at once: wait instead.
				s.logger.WarnContext(ctx, "spool keeps a segment for the open progress it could not copy; retrying", "segment", p.seg.path, "err", err)
				sh.retryAt = now.Add(s.o.MaxBackoff)
			}
			return false
		}
	}
	sh.saveEnded(ctx)
	if err := removeSegment(p.seg.path); err != nil {
		if !now.Before(sh.retryAt) {
			s.logger.WarnContext(ctx, "spool remove segment; retrying", "segment", p.seg.path, "err", err)
			sh.retryAt = now.Add(s.o.MaxBackoff)
		}
		return false
	}
	s.size.Add(-p.seg.size)
	if p.seg.size > headerSize {
		sh.retryAt = time.Time{} // room on a full disk, maybe
	}
	return true
}

// carry appends copies of the progress frames live, read from seg, to the
// log. A segment whose file is gone has nothing left to copy.
func (sh *shipper) carry(ctx context.Context, seg *segment, live []progressAt) error {
	f, err := os.Open(seg.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	for _, p := range live {
		frame := make([]byte, p.size)
		if _, err := f.ReadAt(frame, p.off); err != nil {
			return fmt.Errorf("copy an open exchange's progress from %s: %w", seg.path, err)
		}
		if _, _, ok := frameAt(frame); !ok { // the disk changed it since it was read: nothing to keep
			sh.s.logger.Error("spool progress frame corrupt; not copied", "segment", seg.path, "offset", p.off, "id", p.id)
			continue
		}
		if err := sh.s.append(ctx, frame, p.id, p.gen, true); err != nil {
			return fmt.Errorf("copy an open exchange's progress from %s: %w", seg.path, err)
		}
	}
	return nil
}

func (sh *shipper) closeFile() {
	if sh.f != nil {
		sh.f.Close()
		sh.f = nil
	}
}

// checkpoint records the shipping position: at most once a second unless
// forced. A lost checkpoint only means records ship twice.
func (sh *shipper) checkpoint(force bool) {
	if sh.seg == nil {
		return
	}
	p := position{seq: sh.seg.seq, off: sh.off}
	if p == sh.saved || (!force && time.Since(sh.savedAt) < checkpointEvery) {
		return
	}
	if err := writeCheckpoint(sh.s.dir, p); err != nil {
		sh.s.logger.Warn("spool checkpoint", "err", err)
		return
	}
	sh.saved, sh.savedAt = p, time.Now()
}
