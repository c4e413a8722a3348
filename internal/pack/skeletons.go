package pack

import (
	"strings"
	"sync"
)

// skeletons remembers how recent request and conversation skeletons were
// encoded. Requests from one client differ only in their content, which
// is cut out, so their skeletons repeat; S2 clears a 64 KiB table on every
// call, which made encoding a short skeleton cost over a microsecond, the
// largest part of laying out a record. Two generations of up to
// skeletonsMax entries bound its memory; one in use stays. Encodings are
// shared between the rows that use them: rows are read, never changed.
type skeletons struct {
	mu       sync.Mutex
	cur, old map[string][]byte
}

const (
	skeletonsMax  = 1024
	skeletonsUpTo = 2 << 10 // bytes: longer ones are rarer, and their encoding less dominated by the table
)

// encode returns p.encodeSkeleton(b), from s when b was encoded lately.
func (s *skeletons) encode(p *Packer, b []byte) []byte {
	if len(b) > skeletonsUpTo {
		return p.encodeSkeleton(b)
	}
	s.mu.Lock()
	enc, ok := s.cur[string(b)]
	if !ok {
		if enc, ok = s.old[string(b)]; ok {
			s.add(string(b), enc)
		}
	}
	s.mu.Unlock()
	if ok {
		return enc
	}
	enc = p.encodeSkeleton(b) // exactly its size: no spare room is kept
	s.mu.Lock()
	s.add(string(b), enc)
	s.mu.Unlock()
	return enc
}

// Remembers reports whether a remembered skeleton holds text: for tests
// that check what a purge leaves in memory.
func (p *Packer) Remembers(text string) bool {
	s := &p.skeletons
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range []map[string][]byte{s.cur, s.old} {
		for k := range m {
			if strings.Contains(k, text) {
				return true
			}
		}
	}
	return false
}

// forget drops every remembered encoding.
func (s *skeletons) forget() {
	s.mu.Lock()
	s.cur, s.old = nil, nil
	s.mu.Unlock()
}

// add needs s.mu.
func (s *skeletons) add(k string, enc []byte) {
	if len(s.cur) >= skeletonsMax || s.cur == nil {
		s.old, s.cur = s.cur, make(map[string][]byte, skeletonsMax)
	}
	s.cur[k] = enc
}
