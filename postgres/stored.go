package postgres

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/lyumen/lyumen/internal/pack"
)

// storedBlobs bounds the blob hashes a DB remembers: two generations of
// this many, about 5 MB.
const storedBlobs = 1 << 16

// hashSet remembers the blobs recent batches stored, so that the history
// a client resends each turn is neither compressed again nor sent to be
// ignored. It keeps two generations of up to max hashes each and forgets
// the older when the newer is full. What is forgotten, or was stored by
// another gateway, is sent and inserted "on conflict do nothing", so
// forgetting costs time, never correctness. Remembering a blob that is not
// stored would lose it: only committed blobs are added, and anything that
// deletes blobs must clear the set. (sqlite/record.go has the same.)
type hashSet struct {
	mu       sync.Mutex
	cur, old map[pack.Hash]struct{}
	max      int
}

func newHashSet(max int) *hashSet {
	return &hashSet{cur: map[pack.Hash]struct{}{}, max: max}
}

func (s *hashSet) has(h pack.Hash) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.cur[h]; ok {
		return true
	}
	_, ok := s.old[h]
	return ok
}

func (s *hashSet) add(pieces []pack.Piece) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, pc := range pieces {
		if len(s.cur) >= s.max {
			s.old, s.cur = s.cur, make(map[pack.Hash]struct{}, s.max)
		}
		s.cur[pc.Hash] = struct{}{}
	}
}

// parallel calls f for each i in [0, n) on up to GOMAXPROCS goroutines and
// returns the errors it returned.
func parallel(n int, f func(i int) error) error {
	workers := min(runtime.GOMAXPROCS(0), n)
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
