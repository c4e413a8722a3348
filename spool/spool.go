// Package spool is the durable Recorder: a write-ahead log on local disk
// that holds every record from the moment Record returns until a Writer
// (the store) has committed it. A completion the client received is never
// lost from the log: not on a crash, not while the store is down, not on
// shutdown.
//
// Record encodes the record, appends it to the current segment file and
// returns once an fsync covers it. Concurrent calls share one fsync (group
// commit): while one caller, the leader, writes and syncs, the others queue
// their records in the next group, and one of them leads it when the sync
// is done. Run ships the records from the segments to the Writer in order
// and deletes a segment once every record in it is committed. On Open,
// segments left by an earlier process are checked frame by frame and
// shipped by Run; a torn or corrupt tail is cut off, and bytes after a
// corrupt record are kept in dir/corrupt/ rather than deleted.
//
// The directory holds:
//
//	00000000000000000001.seg  segments, oldest first (format in segment.go)
//	checkpoint                how far shipping got (checkpoint.go)
//	ended                     exchanges whose progress outlives their record (checkpoint.go)
//	corrupt/                  bytes cut from segments that may hold records
//	lock                      keeps a second process out
package spool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lyumen/lyumen"
)

// Writer stores a batch of records. When WriteRecords returns nil the
// records must survive a crash of the machine, not only of the process:
// the spool then forgets them. Writing a record twice must store it once
// (the ID is the key): after a crash or an error of unknown outcome the
// spool ships a batch again.
type Writer interface {
	WriteRecords(ctx context.Context, recs []*lyumen.Record) error
}

var (
	// ErrFull is returned by Record when the spool holds MaxBytes: the
	// store is behind. The caller should refuse the request (503) rather
	// than serve a completion it cannot log.
	ErrFull = errors.New("spool full")
	// ErrClosed is returned by Record once Run has begun shutting down or
	// Close was called.
	ErrClosed = errors.New("spool closed")
)

// Options tunes a Spool; zero values take the defaults.
type Options struct {
	// MaxBytes caps the segments on disk; default 1 GiB. Record fails
	// with ErrFull rather than go past it.
	MaxBytes int64
	// SegmentBytes is the size at which a new segment begins; default
	// 16 MiB, and at most MaxBytes/4 so that shipped segments can be
	// deleted long before the cap.
	SegmentBytes int64
	// BatchSize is the most records per WriteRecords call; default 500.
	BatchSize int
	// DrainTimeout bounds how long Run keeps shipping after its context
	// ends; default 10s. What it does not ship stays on disk for the
	// next start.
	DrainTimeout time.Duration
	// MaxBackoff caps the wait between retries of a failing Writer;
	// default 5s.
	MaxBackoff time.Duration
	// WriteTimeout bounds one WriteRecords call; default 60s. A store's
	// connection can go silent without being reset (a failover behind one
	// address, a NAT that dropped the flow): the batch then fails and is
	// retried, on a new connection, where shipping stopped for as long as
	// TCP took to notice (hours).
	WriteTimeout time.Duration
	// Linger is how long the shipper lets records gather after new ones
	// arrive, so the store gets fewer, larger batches: records are durable
	// here already, so waiting costs nothing but freshness. Default 100ms;
	// negative ships at once. ShipNow cuts a wait short.
	Linger time.Duration
	// CommitDelay is how long a leader waits before writing its group
	// while the spool is busy: the last group carried more than one
	// record, and was taken less than 10 ms (or 4 CommitDelays) ago. Each
	// fsync costs CPU as well as time (100–250 µs of CPU on the virtual disk of
	// bench/RESULTS.md), so letting more records join saves more than it
	// costs. Records that come one at a time are not delayed, or only the
	// first of them. Nor are any while a write + fsync takes less than a
	// quarter of CommitDelay (a running average): on tmpfs, or a disk whose
	// cache survives power loss, a bigger group saves next to nothing and
	// the wait is all cost (below an average of 25 µs the leader does not
	// even yield first). Nor while the CPU has room (the leader's yield
	// came back within 30 µs: no other goroutine ran for long first): then
	// the fsyncs a wait saves cost CPU nobody needs, and the wait only adds
	// latency. Default 250µs; the Go runtime's timers stretch it to 1 ms
	// or more.
	// Negative writes at once.
	CommitDelay time.Duration
	// LowPriority has Run hand each batch to an OS thread of the lowest
	// priority (Linux; see internal/lowprio), so that the Writer's work
	// (scrubbing, laying records out, writing them) takes the CPU that
	// serving leaves. A batch shipped while the spool is behind (more
	// than 4 BatchSizes or an eighth of MaxBytes pending), and the drain
	// at shutdown, are written at the usual priority: a store starved of
	// CPU must not fill the spool. Reading records back stays at the
	// usual priority too, with the spool's lock.
	LowPriority bool
	Logger      *slog.Logger

	// OnSync is told about every fsync of appended records: how many
	// records it made durable and how long the write and fsync took.
	OnSync func(records int, d time.Duration)
	// OnShipped is told how many records each committed batch held.
	OnShipped func(n int)
	// OnCorrupt is told about every corrupt or torn frame found: the
	// segment's path and the offset where it was cut.
	OnCorrupt func(segment string, offset int64)
	// OnRejected is told the id of every record the Writer rejected,
	// which the spool set aside (see Run).
	OnRejected func(id string)
}

const (
	defaultMaxBytes     = 1 << 30
	defaultSegmentBytes = 16 << 20
	firstBackoff        = 100 * time.Millisecond
	checkpointEvery     = time.Second
	busyFor             = 10 * time.Millisecond // see Options.CommitDelay
	// contendedYield: a yield that took this long ran other goroutines
	// first, so the CPU is contended (see Options.CommitDelay). One with
	// nothing else to run returns within a microsecond or two.
	contendedYield = 30 * time.Microsecond
	// cheapSync: a group's write + fsync that takes less than this on
	// average (tmpfs, a disk whose cache survives power loss) is not worth
	// waiting for other records to join.
	cheapSync    = 25 * time.Microsecond
	maxRead      = 4 << 20 // bytes read from a segment at a time
	maxPooledBuf = 1 << 20
)

func (o Options) withDefaults() Options {
	if o.MaxBytes <= 0 {
		o.MaxBytes = defaultMaxBytes
	}
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = defaultSegmentBytes
	}
	o.SegmentBytes = max(min(o.SegmentBytes, o.MaxBytes/4), headerSize+frameHeader+1)
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = 10 * time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = time.Minute
	}
	if o.Linger == 0 {
		o.Linger = 100 * time.Millisecond
	}
	if o.CommitDelay == 0 {
		o.CommitDelay = 250 * time.Microsecond
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Logger = o.Logger.With("component", "spool")
	if o.OnSync == nil {
		o.OnSync = func(int, time.Duration) {}
	}
	if o.OnShipped == nil {
		o.OnShipped = func(int) {}
	}
	if o.OnRejected == nil {
		o.OnRejected = func(string) {}
	}
	if o.OnCorrupt == nil {
		o.OnCorrupt = func(string, int64) {}
	}
	return o
}

// Spool is a durable lyumen.Recorder. Record may be called as soon as Open
// returns; Run ships; Close releases the files after Run has returned.
type Spool struct {
	dir    string
	w      Writer
	o      Options
	logger *slog.Logger
	lock   *os.File
	wake   chan struct{} // cap 1: records became durable, or a segment was sealed
	now    chan struct{} // cap 1: ShipNow was called
	bufs   sync.Pool     // *[]byte for encoding frames

	mu       sync.Mutex
	idle     sync.Cond // on mu: broadcast when flushing turns false
	closed   bool      // intake stopped
	running  bool      // Run was called
	full     bool      // the last Record was refused for the cap
	cur      *group    // the group new records join
	flushing bool      // a leader is writing; the next group waits for its token
	spare    []byte    // a flushed group's buffer, for the next group
	spareOps []openOp  // and its ops
	segs     []*segment
	// size is the bytes in segments, plus bytes in groups being written:
	// changed under mu, read without it.
	size      atomic.Int64
	lastFrame atomic.Int64 // the size of the last record or progress offered
	pending   int64        // records not yet shipped
	pendBytes int64        // the bytes of the frames not yet shipped or passed over, progress included
	gen       atomic.Uint64
	// open maps the ID of each exchange with a durable progress and no
	// durable record to the generation of its latest durable progress:
	// what a crash now would leave to be recorded as interrupted.
	open map[string]uint64
	// ending counts, by ID, the records of exchanges with progress that
	// are appended and not yet written: no copy of their progress may
	// follow them in the log. progressing counts the progress appended and
	// not yet written.
	ending, progressing map[string]int
	// found is the exchanges the last process was serving when it died,
	// open (in open) until Run records them (recordInterrupted); Open's
	// segments with nothing left to ship wait in pinnedAtOpen for Run's
	// shipper, which deletes each once no open progress needs it.
	found        interrupted
	pinnedAtOpen []pinned
	// endedAtOpen is the ended exchanges whose progress Open found where
	// the shipper will not pass; foundLeftover the found (open) ones with
	// progress there, which join endedAtOpen once recorded. The shipper
	// alone uses them after Open.
	endedAtOpen, foundLeftover map[string]bool

	// The active segment. Only the leader touches these.
	f       *os.File
	fseg    *segment
	falloc  int64 // bytes of f preallocated with zeros; 0 when none
	nextSeq uint64
	// The spool is busy (see Options.CommitDelay) until busyUntil, which
	// the leader sets when it takes a group of more than one record and
	// clears otherwise; only the leader reads or writes it.
	busyUntil time.Time
	// syncCost is a running average of a group's write + fsync time; only
	// the leader reads or writes it.
	syncCost time.Duration
	// prep delivers the next segment, preallocated in the background once
	// the active one is half full; nil when none is being made.
	prep chan prepared
	// fsync makes a group's write durable: syncWritten, unless a test
	// (export_test.go) wraps it to see or hold the fsync.
	fsync func(f *os.File, inPlace bool) error
}

// prepared is a segment file made ready ahead of its use: its header and
// zeros up to SegmentBytes written and fsynced, its directory entry too.
// Records written into it overwrite blocks that exist already, so an
// fdatasync makes them durable without the journal commit an append needs
// (on ext4 half the CPU and a third of the wait, measured).
type prepared struct {
	f   *os.File
	seq uint64
	err error
}

var _ lyumen.Recorder = (*Spool)(nil)

// segment is one segment file. Fields other than seq, path and start are
// guarded by Spool.mu.
type segment struct {
	seq    uint64
	path   string
	start  int64 // first offset not yet shipped when the segment was opened
	size   int64 // durable bytes: frames below it are fsynced
	sealed bool  // no more appends
	recs   int64 // records not yet shipped
	bytes  int64 // their frame bytes
	// early is the latest progress of exchanges found interrupted at Open
	// that lies before start, where the shipper does not pass.
	early []progressAt
}

// group is the records appended while the previous group is being written;
// one write and one fsync make them all durable.
type group struct {
	frames  []byte
	n       int           // frames
	records int           // of them records, not progress
	ops     []openOp      // what the frames do to Spool.open once durable, in order
	done    chan struct{} // closed when written; err is set then
	lead    chan struct{} // cap 1: the token that makes a waiter the leader
	err     error
}

// openOp is a frame's change to Spool.open: a progress of generation gen,
// or (gen 0) the record that ends the exchange; ends says the record is
// counted in Spool.ending.
type openOp struct {
	id   string
	gen  uint64
	ends bool
}

func newGroup(buf []byte) *group {
	return &group{frames: buf, done: make(chan struct{}), lead: make(chan struct{}, 1)}
}

// Open opens the spool in dir, creating dir if needed, and checks the
// segments it finds: their records are shipped by Run. w is the store.
func Open(dir string, w Writer, o Options) (*Spool, error) {
	o = o.withDefaults()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open spool %s: %w", dir, err)
	}
	lock, err := lockDir(filepath.Join(dir, lockName))
	if err != nil {
		return nil, fmt.Errorf("open spool %s: %w", dir, err)
	}
	s := &Spool{
		dir:    dir,
		w:      w,
		o:      o,
		logger: o.Logger,
		lock:   lock,
		wake:   make(chan struct{}, 1),
		now:    make(chan struct{}, 1),
		cur:    newGroup(nil),
		fsync:  syncWritten,
	}
	s.idle.L = &s.mu
	s.bufs.New = func() any { b := make([]byte, 0, 4096); return &b }
	found, leftover := interrupted{}, map[string]bool{}
	stale, err := s.replay(found, leftover)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("open spool %s: %w", dir, err)
	}
	// The ended exchanges whose progress is left where the shipper will not
	// pass (a shipped part, a segment with no record to ship): those with
	// their record in the log, and those the last ended file named (their
	// record may be gone). They go in every ended file this process writes.
	ended := readEnded(dir)
	s.endedAtOpen, s.foundLeftover = map[string]bool{}, map[string]bool{}
	for id := range leftover {
		switch _, unended := found[id]; {
		case !unended || ended[id]:
			s.endedAtOpen[id] = true
		default: // named once recorded (shipper.sweep): older progress of it may be left there
			s.foundLeftover[id] = true
		}
	}
	for id := range ended {
		delete(found, id)
	}
	if s.pending > 0 {
		s.logger.Info("spool replayed", "segments", len(s.segs), "records", s.pending, "bytes", s.pendBytes)
	}
	// The first segment is preallocated too: in a segment that grows, each
	// group commit's fsync also commits the file's new size, which cost
	// this machine's disk ~40% more per commit, for the first SegmentBytes
	// after every start (hours at low traffic). The first Record waits for
	// it if it comes within the few milliseconds this takes.
	s.prepareIfRoom()
	// Run records the interrupted exchanges: Open needs no room on the
	// disk, and shipping may be what makes it. Only then may the segments
	// that hold their progress go.
	s.adopt(found, stale)
	if len(found) > 0 {
		s.logger.Warn("spool found exchanges the last process was serving when it stopped; recording them as interrupted", "records", len(found))
	}
	return s, nil
}

// adopt takes the exchanges Open found interrupted as open ones of this
// process, their latest progress kept as any open progress is, until Run
// records them, and hands the segments with nothing left to ship to Run's
// shipper, pinned for the progress in them.
func (s *Spool) adopt(found interrupted, stale []*segment) {
	s.found = found
	bySeq := map[uint64]*segment{}
	for _, seg := range s.segs {
		bySeq[seg.seq] = seg
	}
	pins := map[uint64]*pinned{}
	for _, seg := range stale {
		s.size.Add(seg.size)
		pins[seg.seq] = &pinned{seg: seg}
	}
	for id, p := range found {
		if s.open == nil {
			s.open = make(map[string]uint64)
		}
		s.open[id] = p.gen
		at := progressAt{id: id, gen: p.gen, off: p.off, size: p.size}
		if pin := pins[p.seq]; pin != nil {
			pin.passed = append(pin.passed, at)
		} else if seg := bySeq[p.seq]; seg != nil && p.off < seg.start {
			seg.early = append(seg.early, at) // before what the shipper will pass
		}
	}
	for _, seg := range stale {
		s.pinnedAtOpen = append(s.pinnedAtOpen, *pins[seg.seq])
	}
}

// interrupted collects, while Open reads the log, the latest progress of
// each exchange that has no record: the exchanges the last process was
// serving when it died. An exchange's record follows all its progress in
// the log, copies included (Spool.append), so a record seen removes it.
type interrupted map[string]*lastProgress

type lastProgress struct {
	gen       uint64
	payload   []byte
	seq       uint64 // where: the segment, the frame's offset and size
	off, size int64
}

func (m interrupted) visit(seq uint64, payload []byte, off, size int64) {
	id, gen, progress, ok := frameKey(payload)
	switch {
	case !ok:
	case progress:
		if p := m[string(id)]; p == nil || gen > p.gen {
			m[string(id)] = &lastProgress{gen: gen, payload: bytes.Clone(payload), seq: seq, off: off, size: size}
		}
	case len(m) > 0:
		delete(m, string(id))
	}
}

// errInterrupted is the error of an exchange's record made from its last
// progress; interruptedGrowth bounds how much larger that record's frame
// is than the progress's.
const errInterrupted = "interrupted: the gateway stopped (a crash, a kill, power lost) while serving this stream; " +
	"the answer is what the client had been sent by the last progress kept, up to a second before"

const interruptedGrowth = int64(len(errInterrupted)) + 64

// recordInterrupted appends the record of each exchange Open found
// interrupted: its last progress, marked lyumen.Interrupted. Once durable,
// the record ends the exchange (flush), and its progress may go.
func (s *Spool) recordInterrupted(ctx context.Context) error {
	for id, p := range s.found {
		rec, err := decodeProgress(p.payload)
		if err != nil { // ours by its checksum, but not readable by this release
			s.logger.Error("spool progress unreadable; the interrupted exchange is not recorded", "id", id, "err", err)
			s.mu.Lock()
			delete(s.open, id)
			s.mu.Unlock()
			delete(s.found, id)
			continue
		}
		rec.Completeness = lyumen.Interrupted
		rec.Error = errInterrupted
		frame := appendFrame(nil, func(b []byte) []byte { return appendRecord(b, rec) })
		if err := s.append(ctx, frame, id, 0, true); err != nil {
			return fmt.Errorf("record an interrupted exchange: %w", err)
		}
		delete(s.found, id)
	}
	return nil
}

// replay checks every segment left in dir, collecting the interrupted
// exchanges into found. Nothing is appended to them again: the first
// Record starts a new segment. It returns the segments with nothing left
// to ship, for Open to remove.
func (s *Spool) replay(found interrupted, leftover map[string]bool) (stale []*segment, err error) {
	ck, ok, err := readCheckpoint(s.dir)
	if err != nil {
		return nil, err
	}
	if !ok {
		s.logger.Warn("spool checkpoint unreadable; shipping every segment again")
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("list segments: %w", err)
	}
	var seqs []uint64
	for _, e := range entries {
		if seq, ok := parseSegmentName(e.Name()); ok && e.Type().IsRegular() {
			seqs = append(seqs, seq)
		}
		if strings.HasSuffix(e.Name(), segmentExt+prepExt) { // preallocation cut short: no record in it
			if err := os.Remove(filepath.Join(s.dir, e.Name())); err != nil {
				return nil, fmt.Errorf("remove unfinished segment: %w", err)
			}
		}
	}
	slices.Sort(seqs)
	s.nextSeq = ck.seq + 1
	if len(seqs) > 0 {
		s.nextSeq = max(s.nextSeq, seqs[len(seqs)-1]+1)
	}
	var buf []byte
	for _, seq := range seqs {
		path := filepath.Join(s.dir, segmentName(seq))
		var seg *segment
		seg, buf, err = s.openSegment(seq, path, ck, buf, found, leftover)
		if err != nil {
			return nil, err
		}
		if seg != nil && seg.recs == 0 {
			stale = append(stale, seg)
		} else if seg != nil {
			s.segs = append(s.segs, seg)
			s.size.Add(seg.size)
			s.pending += seg.recs
			s.pendBytes += seg.bytes
		}
	}
	return stale, nil
}

// openSegment checks one segment and repairs it: it cuts the segment at the
// first bad frame, quarantining what follows unless it is a torn tail, and
// gives found every good frame (the shipped ones too, for their progress).
// It returns nil for a file that holds no segment, after removing it, and a
// segment without records for one with no record left to ship, which Open
// removes once the interrupted exchanges have their records.
func (s *Spool) openSegment(seq uint64, path string, ck position, buf []byte, found interrupted, leftover map[string]bool) (*segment, []byte, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, buf, fmt.Errorf("open segment: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, buf, fmt.Errorf("open segment: %w", err)
	}
	size := st.Size()
	hdr := make([]byte, min(size, headerSize))
	if _, err := f.ReadAt(hdr, 0); err != nil {
		return nil, buf, fmt.Errorf("read segment %s: %w", path, err)
	}
	torn, err := checkHeader(hdr)
	switch {
	case errors.Is(err, errVersion):
		return nil, buf, fmt.Errorf("segment %s: %w", path, err)
	case err != nil: // not a segment: keep it all in quarantine
		q, err := quarantine(s.dir, corruptDir, f, 0, size)
		if err != nil {
			return nil, buf, err
		}
		s.corrupt(path, 0, size, q)
		return nil, buf, removeSegment(path)
	case torn: // a crash while creating it, before any record
		s.corrupt(path, 0, size, "")
		return nil, buf, removeSegment(path)
	}

	// Before the checkpoint's segment, all is shipped: a segment kept for
	// the progress in it (shipper.retire), or one the process stopped
	// before deleting.
	start := int64(headerSize)
	if seq < ck.seq {
		start = size
	} else if seq == ck.seq && ck.off > headerSize {
		if ck.off <= size {
			start = ck.off
		} else {
			s.logger.Warn("spool checkpoint past the end of its segment; shipping the segment again",
				"segment", path, "offset", ck.off, "size", size)
		}
	}
	// Progress IDs go to leftover when the shipper will not pass them: in
	// the shipped part, or anywhere in a segment with no record left.
	var ids []string
	visit := func(payload []byte, off, size int64) {
		found.visit(seq, payload, off, size)
		if id, _, progress, ok := frameKey(payload); ok && progress {
			ids = append(ids, string(id))
		}
	}
	if start > headerSize {
		// Shipped already, but progress there may still be the last of an
		// exchange that never ended: read for found only, up to any bad
		// frame, which those bytes are not cut for.
		if _, buf, err = scanSegment(f, headerSize, start, -1, buf, visit); err != nil {
			return nil, buf, err
		}
		for _, id := range ids {
			leftover[id] = true
		}
		ids = ids[:0]
	}
	res, buf, err := scanSegment(f, start, size, s.o.SegmentBytes, buf, visit)
	if err != nil {
		return nil, buf, err
	}
	if res.cut >= 0 {
		q := ""
		if !res.tail {
			if q, err = quarantine(s.dir, corruptDir, f, res.cut, size); err != nil {
				return nil, buf, err
			}
		}
		if err := f.Truncate(res.cut); err != nil {
			return nil, buf, fmt.Errorf("cut segment %s: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			return nil, buf, fmt.Errorf("cut segment %s: %w", path, err)
		}
		s.corrupt(path, res.cut, res.cutLen, q)
	}
	if res.records == 0 { // removed once the interrupted exchanges have their records
		for _, id := range ids {
			leftover[id] = true
		}
		return &segment{seq: seq, path: path, size: res.size}, buf, nil
	}
	if res.cut < 0 && res.size < size { // a preallocated segment's zeros
		if err := f.Truncate(res.size); err != nil {
			s.logger.Warn("spool trim segment", "segment", path, "err", err)
		}
	}
	return &segment{
		seq: seq, path: path, start: start, size: res.size, sealed: true,
		recs: res.records, bytes: res.bytes,
	}, buf, nil
}

// removeSegment removes the segment file at path, which may be gone.
func removeSegment(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove segment: %w", err)
	}
	return nil
}

// corrupt reports a cut: a torn tail is expected after a crash (Warn);
// quarantined bytes may hold records an operator should look at (Error).
func (s *Spool) corrupt(path string, off, n int64, quarantined string) {
	if quarantined == "" {
		s.logger.Warn("spool segment has a torn tail; cut", "segment", path, "offset", off, "cut_bytes", n)
	} else {
		s.logger.Error("spool segment corrupt; cut and quarantined", "segment", path, "offset", off,
			"cut_bytes", n, "quarantine", quarantined)
	}
	s.o.OnCorrupt(path, off)
}

// Record appends rec to the spool and returns once it is on disk (fsynced).
// It fails at once with ErrFull when the spool is at its cap, and with
// ErrClosed once shutdown has begun. If ctx ends while the record waits
// for its fsync, Record returns the context's error; the record may still
// be logged. A record ends its ID's progress (see Progress).
func (s *Spool) Record(ctx context.Context, rec *lyumen.Record) error {
	return s.take(ctx, rec, 0)
}

// Progress appends rec as the progress of an exchange still being served
// and returns once it is on disk, failing as Record does. Progress is never
// shipped: a later Progress or the Record of the same ID replaces it. One
// still open when the process dies is found by the next Open, which
// records it with Completeness lyumen.Interrupted and an error saying so.
// While it is open, the shipper copies it forward rather than delete the
// segment that holds it (see shipper.remove).
func (s *Spool) Progress(ctx context.Context, rec *lyumen.Record) error {
	return s.take(ctx, rec, s.gen.Add(1))
}

// take encodes rec, as a record (gen 0) or a progress of generation gen,
// and appends it.
func (s *Spool) take(ctx context.Context, rec *lyumen.Record, gen uint64) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("spool record: %w", err)
	}
	if rec == nil {
		return errors.New("spool record: nil record")
	}
	bp := s.bufs.Get().(*[]byte)
	frame := appendFrame((*bp)[:0], func(b []byte) []byte {
		if gen > 0 {
			return appendProgress(b, gen, rec)
		}
		return appendRecord(b, rec)
	})
	if cap(frame) <= maxPooledBuf {
		*bp = frame
		defer s.bufs.Put(bp)
	}
	s.lastFrame.Store(int64(len(frame)))
	return s.append(ctx, frame, rec.ID, gen, false)
}

// append adds frame, the record (gen 0) or the progress of gen of the
// exchange id, to the current group and returns once it is written.
// forced is for frames that only move or finish what is in the spool
// already (a progress copied forward, the record of an interrupted
// exchange): they go in past MaxBytes, and after shutdown began, rather
// than be lost. A copy is skipped once its progress is no longer the
// latest (and refused, errEnding, while its exchange's record is being
// written); an interrupted exchange's record once the exchange is no
// longer open or is being recorded. The record that ends an exchange with
// a progress here goes past MaxBytes too: its request is in the spool
// already, and refusing it would leave the exchange to be taken for
// interrupted.
func (s *Spool) append(ctx context.Context, frame []byte, id string, gen uint64, forced bool) error {
	n := int64(len(frame))
	most := s.o.MaxBytes / 2
	if gen > 0 && !forced {
		most -= interruptedGrowth // room for the record it may become
	}
	if n > most || n-frameHeader > math.MaxUint32 {
		return fmt.Errorf("spool record: %d bytes is too large for a spool of %d", n, s.o.MaxBytes)
	}
	s.mu.Lock()
	if forced && gen == 0 && (s.open[id] == 0 || s.ending[id] > 0) {
		s.mu.Unlock()
		return nil // an interrupted exchange recorded already, or being recorded
	}
	if forced && gen > 0 && (s.open[id] != gen || s.ending[id] > 0) {
		ending := s.ending[id] > 0
		s.mu.Unlock()
		if ending {
			return errEnding
		}
		return nil // ended, or a newer progress is in the log
	}
	_, ends := s.open[id]
	ends = gen == 0 && (ends || s.progressing[id] > 0)
	if s.closed && !forced {
		s.mu.Unlock()
		return ErrClosed
	}
	if !forced && !ends && s.size.Load()+n > s.o.MaxBytes {
		size := s.size.Load()
		if !s.full {
			s.full = true
			s.logger.Warn("spool full; refusing records", "bytes", size, "max_bytes", s.o.MaxBytes)
		}
		s.mu.Unlock()
		return fmt.Errorf("spool record: %d of %d bytes used: %w", size, s.o.MaxBytes, ErrFull)
	}
	if s.full && !forced && !ends {
		s.full = false
		s.logger.Info("spool taking records again", "bytes", s.size.Load())
	}
	s.size.Add(n)
	g := s.cur
	g.frames = append(g.frames, frame...)
	g.n++
	if gen == 0 {
		g.records++
	}
	// A copy changes nothing; a progress or a record changes open once
	// durable (flush), in the log's order, which is the order of appends
	// under mu.
	switch {
	case ends:
		s.ending = count(s.ending, id, 1)
	case gen > 0 && !forced:
		s.progressing = count(s.progressing, id, 1)
	}
	if !forced || gen == 0 {
		g.ops = append(g.ops, openOp{id, gen, ends})
	}
	leader := !s.flushing
	s.flushing = true
	s.mu.Unlock()

	if !leader {
		select {
		case <-g.done:
			return g.err
		case <-g.lead: // the previous leader is done; this group is ours to write
		case <-ctx.Done():
			return fmt.Errorf("spool record: %w", ctx.Err())
		}
	}
	s.lead()
	<-g.done
	return g.err
}

// count adds d to m[id], making m when nil and deleting id at zero.
func count(m map[string]int, id string, d int) map[string]int {
	if m == nil {
		m = make(map[string]int)
	}
	if m[id] += d; m[id] <= 0 {
		delete(m, id)
	}
	return m
}

// errEnding refuses to copy a progress whose exchange's record is being
// written: the copy would follow the record in the log.
var errEnding = errors.New("spool: the exchange's record is being written")

// lead writes the current group. The caller must hold leadership: it set
// flushing or received the group's token. Afterwards lead hands the token
// to the next group, or clears flushing when no records are waiting.
func (s *Spool) lead() {
	// Let the records on their way join this group, so that one fsync
	// covers more of them: the goroutines ready to run first, and under
	// load (see CommitDelay) those that arrive a little later too. With
	// nothing else ready and the spool idle, this returns at once. (Yielding
	// only under load too made groups of 10.7 records instead of 17 in
	// bench/, for the same throughput.) Where a write + fsync costs next to
	// nothing (cheapSync), the yield is all cost: behind the goroutines
	// ready to run, a Record waited ten times longer at p99 on tmpfs.
	if s.syncCost >= cheapSync {
		yield := time.Now()
		runtime.Gosched()
		now := time.Now()
		contended := now.Sub(yield) >= contendedYield
		if contended && s.o.CommitDelay > 0 && s.syncCost >= s.o.CommitDelay/4 && now.Before(s.busyUntil) {
			time.Sleep(s.o.CommitDelay)
		}
	}
	s.mu.Lock()
	g := s.cur
	s.busyUntil = time.Time{}
	if g.n > 1 {
		s.busyUntil = time.Now().Add(max(busyFor, 4*s.o.CommitDelay))
	}
	s.cur = newGroup(s.spare)
	s.cur.ops = s.spareOps
	s.spare, s.spareOps = nil, nil
	s.mu.Unlock()

	s.flush(g)

	s.mu.Lock()
	if int64(cap(g.frames)) <= s.o.SegmentBytes {
		s.spare = g.frames[:0]
	}
	clear(g.ops) // the IDs go to the GC
	s.spareOps = g.ops[:0]
	if s.cur.n > 0 {
		s.cur.lead <- struct{}{} // never blocks: one token per group
	} else {
		s.flushing = false
		s.idle.Broadcast()
	}
	s.mu.Unlock()
}

// flush writes and fsyncs g and wakes its callers.
func (s *Spool) flush(g *group) {
	start := time.Now()
	err := s.write(g.frames)
	d := time.Since(start) // before taking mu, which callers contend for
	n := int64(len(g.frames))
	s.mu.Lock()
	for _, op := range g.ops {
		switch {
		case op.ends:
			s.ending = count(s.ending, op.id, -1)
		case op.gen > 0:
			s.progressing = count(s.progressing, op.id, -1)
		}
	}
	if err != nil {
		s.size.Add(-n)
	} else {
		s.fseg.size += n
		s.fseg.recs += int64(g.records)
		s.fseg.bytes += n
		s.pending += int64(g.records)
		s.pendBytes += n
		for _, op := range g.ops {
			if op.gen > 0 {
				if s.open == nil {
					s.open = make(map[string]uint64)
				}
				s.open[op.id] = op.gen
			} else if len(s.open) > 0 {
				delete(s.open, op.id)
			}
		}
	}
	s.mu.Unlock()
	if err == nil && s.fseg.size >= s.o.SegmentBytes {
		// Sealed now, not at the next write: a group can take a segment
		// past SegmentBytes, and a spool whose active segment stays that
		// large once shipped could be Full with nothing pending, and
		// then, taking no record, never seal it.
		s.seal()
	}
	if err == nil {
		s.syncCost += (d - s.syncCost) / 8
		s.o.OnSync(g.n, d)
		s.notify()
	}
	g.err = err
	close(g.done)
}

// write appends frames to the active segment and fsyncs it, starting a new
// segment first when the active one would grow past SegmentBytes.
func (s *Spool) write(frames []byte) error {
	if s.f != nil && s.fseg.size > headerSize && s.fseg.size+int64(len(frames)) > s.o.SegmentBytes {
		s.seal()
	}
	if s.f == nil {
		if err := s.create(); err != nil {
			return err
		}
	}
	end := s.fseg.size + int64(len(frames))
	_, err := s.f.WriteAt(frames, s.fseg.size)
	if err == nil {
		err = s.fsync(s.f, end <= s.falloc)
	}
	if err == nil && s.prep == nil && end > s.o.SegmentBytes/2 {
		s.prepareIfRoom()
	}
	if err != nil {
		err = fmt.Errorf("spool write %s: %w", s.fseg.path, err)
		// What reached the file is unknown now: cut it back to the last
		// fsync and write on in a new segment.
		if terr := s.f.Truncate(s.fseg.size); terr != nil {
			s.logger.Warn("spool cut a failed write", "segment", s.fseg.path, "err", terr)
		}
		s.seal()
		return err
	}
	return nil
}

// syncWritten makes what was written to f durable. inPlace says the
// write only overwrote preallocated blocks: the file's size and blocks are
// as they were, and an fdatasync is enough.
func syncWritten(f *os.File, inPlace bool) error {
	if inPlace {
		return datasync(f)
	}
	return f.Sync()
}

// create starts a new active segment: the one prepared in the background
// when there is one, else a new file. The header and the directory entry
// are fsynced before any record goes in.
func (s *Spool) create() error {
	var seq uint64
	var f *os.File
	if s.prep != nil {
		p := <-s.prep
		s.prep = nil
		seq, f = p.seq, p.f
		if p.err != nil {
			s.logger.Warn("spool could not preallocate a segment; it grows as records come", "err", p.err)
		}
	} else {
		seq = s.nextSeq
		s.nextSeq++
	}
	path := filepath.Join(s.dir, segmentName(seq))
	s.falloc = 0
	if f != nil {
		s.falloc = s.o.SegmentBytes
	} else {
		var err error
		if f, err = createSegment(s.dir, path, 0); err != nil {
			return err
		}
	}
	seg := &segment{seq: seq, path: path, start: headerSize, size: headerSize}
	s.mu.Lock()
	s.segs = append(s.segs, seg)
	s.size.Add(headerSize)
	s.mu.Unlock()
	s.f, s.fseg = f, seg
	return nil
}

// prepareIfRoom prepares the next segment unless that would take the
// spool near its cap: preallocated room is disk the cap does not count, so
// none is made within two segments of it and the files stay within the cap.
func (s *Spool) prepareIfRoom() {
	s.mu.Lock()
	room := s.size.Load()+2*s.o.SegmentBytes <= s.o.MaxBytes
	s.mu.Unlock()
	if room {
		s.prepare()
	}
}

// prepare starts making the next segment ready in the background.
func (s *Spool) prepare() {
	seq := s.nextSeq
	s.nextSeq++
	s.prep = make(chan prepared, 1)
	go func(done chan<- prepared) {
		f, err := createSegment(s.dir, filepath.Join(s.dir, segmentName(seq)), s.o.SegmentBytes)
		done <- prepared{f: f, seq: seq, err: err}
	}(s.prep)
}

// createSegment creates the segment file at path with its header, followed
// by zeros up to size when size is larger, and fsyncs it and its directory
// entry. On failure nothing is left at path. A preallocated file is made
// under another name (prepExt) and renamed when whole, so a crash while
// it is written leaves no half-made segment, only a file Open removes.
func createSegment(dir, path string, size int64) (*os.File, error) {
	name := path
	if size > headerSize {
		name += prepExt
	}
	f, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create segment: %w", err)
	}
	_, err = f.Write(segmentHeader)
	zeros := make([]byte, 1<<20)
	for off := int64(headerSize); err == nil && off < size; off += int64(len(zeros)) {
		_, err = f.Write(zeros[:min(int64(len(zeros)), size-off)])
	}
	if err == nil {
		err = f.Sync()
	}
	if err == nil && name != path {
		err = os.Rename(name, path)
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		f.Close()
		os.Remove(name)
		os.Remove(path)
		return nil, fmt.Errorf("create segment %s: %w", path, err)
	}
	return f, nil
}

// seal closes the active segment; its records were fsynced already. The
// zeros preallocated past them go: a crash before that leaves them, and
// Open reads zeros after the last frame as the clean end they are.
func (s *Spool) seal() {
	if s.falloc > s.fseg.size {
		if err := s.f.Truncate(s.fseg.size); err != nil {
			s.logger.Warn("spool trim segment", "segment", s.fseg.path, "err", err)
		}
	}
	if err := s.f.Close(); err != nil {
		s.logger.Warn("spool close segment", "segment", s.fseg.path, "err", err)
	}
	s.mu.Lock()
	s.fseg.sealed = true
	s.mu.Unlock()
	s.f, s.fseg = nil, nil
	s.notify()
}

func (s *Spool) notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// stop ends intake and waits until every record already taken is written.
func (s *Spool) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for {
		switch {
		case s.cur.n > 0 && !s.flushing:
			s.flushing = true
			s.mu.Unlock()
			s.lead()
			s.mu.Lock()
		case s.cur.n > 0: // its token comes when the leader is done
			g := s.cur
			s.mu.Unlock()
			select {
			case <-g.lead:
				s.lead()
			case <-g.done: // a waiter got the token and wrote it
			}
			s.mu.Lock()
		case s.flushing:
			s.idle.Wait()
		default:
			return
		}
	}
}

// Close stops intake, waits for records being written and closes the
// files. Call it after Run has returned; records not yet shipped stay on
// disk for the next Open.
func (s *Spool) Close() error {
	s.stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lock == nil {
		return nil
	}
	var err error
	if s.f != nil {
		if s.falloc > s.fseg.size {
			err = s.f.Truncate(s.fseg.size)
		}
		if cerr := s.f.Close(); err == nil {
			err = cerr
		}
		s.f, s.fseg = nil, nil
	}
	if s.prep != nil { // a segment never used: nothing in it
		if p := <-s.prep; p.f != nil {
			p.f.Close()
			os.Remove(filepath.Join(s.dir, segmentName(p.seq))) // p.f.Name() is the name it was made under
		}
		s.prep = nil
	}
	if lerr := s.lock.Close(); err == nil {
		err = lerr
	}
	s.lock = nil
	if err != nil {
		return fmt.Errorf("close spool %s: %w", s.dir, err)
	}
	return nil
}

// Pending returns the records not yet shipped and their size in bytes.
func (s *Spool) Pending() (records, bytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending, s.pendBytes
}

// Full reports whether a record the size of the last one offered, or a
// hundredth of MaxBytes if that is more, would not fit: the record of a
// request about to be served would likely find no room. A gateway that
// serves only what it can record refuses the request before asking the
// upstream, rather than send an answer it then cannot record. It takes
// no lock: it is asked on every request.
func (s *Spool) Full() bool {
	return s.size.Load()+max(s.lastFrame.Load(), s.o.MaxBytes/100) > s.o.MaxBytes
}

// Bytes returns the size of the segments on disk, counting records being
// written. Record fails with ErrFull when it would pass MaxBytes.
func (s *Spool) Bytes() int64 { return s.size.Load() }
