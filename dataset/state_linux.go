package dataset

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
)

const mappingSupported = true

// mapTemp maps a new temporary file of n zero bytes in dir, shared, so
// that its pages belong to the page cache. The file is removed at once:
// the mapping keeps it until unmapped.
func mapTemp(dir string, n int) ([]byte, error) {
	f, err := os.CreateTemp(dir, "lyumen-export-state-*")
	if err != nil {
		return nil, fmt.Errorf("export state: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close() // the mapping outlives the descriptor
	// The blocks are reserved now: a sparse file would get them at the
	// first write to each page, and a full disk would then be a SIGBUS
	// that kills the process, not an error the arena falls back from.
	if err := syscall.Fallocate(int(f.Fd()), 0, 0, int64(n)); err != nil {
		return nil, fmt.Errorf("export state: reserve %d bytes: %w", n, err)
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("export state: map %d bytes: %w", n, err)
	}
	return b, nil
}

func unmap(b []byte) error { return syscall.Munmap(b) }

// release drops b's pages from the process; the page cache keeps them
// (written back to the file when dirty), and the next access maps them
// again.
func release(b []byte) { _ = syscall.Madvise(b, syscall.MADV_DONTNEED) }

// residentMapped returns the bytes of file-backed mappings resident in the
// process (the third field of /proc/self/statm, which also counts the
// executable's pages): an upper bound on the tables' share of its memory.
func residentMapped() (int64, bool) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	f := bytes.Fields(b)
	if len(f) < 3 {
		return 0, false
	}
	pages, err := strconv.ParseInt(string(f[2]), 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * int64(os.Getpagesize()), true
}
