package pack

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/lowprio"
)

// Batch is a batch of records laid out for a store.
type Batch struct {
	// Rows are the records' own columns, one per record, in order.
	Rows []Row
	// Blobs are the pieces the records refer to that no recent batch
	// stored (see Recent), each once, encoded.
	Blobs []Blob
}

// CutBatch lays recs out on every CPU (on the calling goroutine alone when
// ctx is that of a low-priority thread: see lowprio.Mark), and encodes only
// the pieces that recent does not hold: in a conversation, that is the
// last question and answer, not the history resent with them. A store
// calls recent.Add with the batch once it has committed it.
func (p *Packer) CutBatch(ctx context.Context, recs []*lyumen.Record, recent *Recent) (Batch, error) {
	workers := workersFor(ctx)
	b := Batch{Rows: make([]Row, len(recs))}
	pieces := make([][]Piece, len(recs))
	err := parallel(workers, len(recs), func(i int) error {
		if recs[i] == nil {
			return fmt.Errorf("record %d: nil", i)
		}
		var err error
		if b.Rows[i], pieces[i], err = p.Cut(recs[i]); err != nil {
			return fmt.Errorf("record %s: %w", recs[i].ID, err)
		}
		return nil
	})
	if err != nil {
		return Batch{}, err
	}
	// A batch often holds several turns of one conversation.
	var todo []Piece
	seen := make(map[Hash]bool)
	for _, ps := range pieces {
		for _, pc := range ps {
			if !seen[pc.Hash] && !recent.has(pc.Hash) {
				todo = append(todo, pc)
			}
			seen[pc.Hash] = true
		}
	}
	b.Blobs = make([]Blob, len(todo))
	_ = parallel(workers, len(todo), func(i int) error { b.Blobs[i] = p.Blob(todo[i]); return nil })
	return b, nil
}

// Recent remembers the blobs recent batches stored, so that the history a
// client resends each turn is neither compressed again nor sent to the
// database to be ignored. It keeps two generations of up to max hashes
// each and forgets the older when the newer is full: a few megabytes, and
// minutes of a busy gateway's traffic. What is forgotten, or was stored by
// another gateway, is encoded and inserted "on conflict do nothing", so
// forgetting costs time, never correctness. Remembering a blob that is not
// stored would lose it: only committed blobs are added, and for one blob
// epoch (see lyumen.Purge), which a purge advances: a writer that finds
// another epoch than the one it cut its batch at forgets everything (Reset).
type Recent struct {
	mu       sync.Mutex
	cur, old map[Hash]struct{}
	max      int
	epoch    int64
}

// Epoch is the store's blob epoch the remembered blobs are valid for.
func (s *Recent) Epoch() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.epoch
}

// Reset forgets every blob and makes Recent valid for epoch.
func (s *Recent) Reset(epoch int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cur, s.old, s.epoch = map[Hash]struct{}{}, nil, epoch
}

// AddAt is Add for a batch committed at epoch; it remembers nothing when
// Recent has moved to another epoch since (a purge came between).
func (s *Recent) AddAt(epoch int64, blobs []Blob) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if epoch == s.epoch {
		s.add(blobs)
	}
}

// NewRecent returns a Recent of two generations of max hashes.
func NewRecent(max int) *Recent {
	return &Recent{cur: map[Hash]struct{}{}, max: max}
}

func (s *Recent) has(h Hash) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.cur[h]; ok {
		return true
	}
	_, ok := s.old[h]
	return ok
}

func (s *Recent) add(blobs []Blob) {
	for _, b := range blobs {
		if len(s.cur) >= s.max {
			s.old, s.cur = s.cur, make(map[Hash]struct{}, s.max)
		}
		s.cur[b.Hash] = struct{}{}
	}
}

// Parallel calls f for each i in [0, n) on up to GOMAXPROCS goroutines and
// returns the errors it returned.
func Parallel(n int, f func(i int) error) error {
	return parallel(runtime.GOMAXPROCS(0), n, f)
}

// workersFor is how many goroutines work under ctx may take.
func workersFor(ctx context.Context) int {
	if lowprio.Marked(ctx) {
		return 1
	}
	return runtime.GOMAXPROCS(0)
}

// parallel is Parallel on up to workers goroutines: with one, the
// caller's own.
func parallel(workers, n int, f func(i int) error) error {
	workers = min(workers, n)
	if workers <= 1 {
		for i := range n {
			if err := f(i); err != nil {
				return err
			}
		}
		return nil
	}
	var next atomic.Int64
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
