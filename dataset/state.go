package dataset

import (
	"errors"
	"sync"
	"unsafe"
)

// Export's state grows with the store: the thread set (a hash per prefix
// that ends with an answer) and, per exported conversation, the dedup
// tables, ~150 MiB at a million records. So that memory stays
// bounded however large the store, the tables live in temporary files
// mapped into memory (state_linux.go): the kernel keeps their pages in its
// page cache and writes them out when memory is short. Once the tables
// outgrow a budget, the pages touched are released from the process every
// so often (they stay in the page cache, and come back on the next access
// as a minor fault), so the process's resident memory holds at most about
// the budget of them. Below the budget nothing is released and the tables
// cost what they would in the Go heap. Where mapping is not available the
// tables are ordinary slices.

// pageSize is the smallest table worth a file.
const pageSize = 4096

// checkEvery is how many operations on the tables pass between two looks
// at how much of them is resident (one read of /proc/self/statm).
const checkEvery = 256

// arena hands out the tables' memory. A nil arena allocates in the Go heap.
// Export's scan (the thread set) and its writer (the dedup tables) share
// it; each table is used by one goroutine.
type arena struct {
	mu     sync.Mutex
	dir    string
	budget int64 // resident bytes of tables allowed before releasing
	maps   map[*byte]int
	mapped int64
	ops    int
	err    error // the first mapping error: later tables go to the heap, and the export goes on
}

func newArena(dir string, budget int64) *arena {
	if !mappingSupported {
		return nil
	}
	return &arena{dir: dir, budget: budget, maps: map[*byte]int{}}
}

// bytes returns n zero bytes.
func (a *arena) bytes(n int) []byte {
	if a == nil || n < pageSize {
		return make([]byte, n)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.err != nil {
		return make([]byte, n)
	}
	b, err := mapTemp(a.dir, n)
	if err != nil {
		a.err = err
		return make([]byte, n)
	}
	a.maps[&b[0]] = n
	a.mapped += int64(n)
	return b
}

// free returns b, from bytes, when it is no longer used anywhere.
func (a *arena) free(b []byte) {
	if a == nil || len(b) == 0 {
		return
	}
	b = b[:cap(b)]
	a.mu.Lock()
	defer a.mu.Unlock()
	n, ok := a.maps[&b[0]]
	if !ok {
		return // from the heap
	}
	delete(a.maps, &b[0])
	a.mapped -= int64(n)
	_ = unmap(b[:n]) // fails only for a range that is not mapped
}

// tick counts one operation on the tables and, every checkEvery, when the
// tables are larger than the budget and more than the budget of them is
// resident, releases their pages from the process.
func (a *arena) tick() {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.mapped <= a.budget {
		return
	}
	if a.ops++; a.ops < checkEvery {
		return
	}
	a.ops = 0
	if resident, ok := residentMapped(); ok && resident <= a.budget {
		return
	}
	for p, n := range a.maps {
		release(unsafe.Slice(p, n))
	}
}

// close unmaps what is left.
func (a *arena) close() error {
	if a == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var errs []error
	for p, n := range a.maps {
		errs = append(errs, unmap(unsafe.Slice(p, n)))
	}
	clear(a.maps)
	a.mapped = 0
	return errors.Join(errs...)
}

func (a *arena) uint64s(n int) []uint64 {
	if n == 0 {
		return nil
	}
	b := a.bytes(8 * n)
	return unsafe.Slice((*uint64)(unsafe.Pointer(&b[0])), n)
}

func (a *arena) freeUint64s(s []uint64) {
	if len(s) > 0 {
		a.free(unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), 8*len(s)))
	}
}

func (a *arena) uint32s(n int) []uint32 {
	if n == 0 {
		return nil
	}
	b := a.bytes(4 * n)
	return unsafe.Slice((*uint32)(unsafe.Pointer(&b[0])), n)
}

func (a *arena) freeUint32s(s []uint32) {
	if len(s) > 0 {
		a.free(unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), 4*len(s)))
	}
}
