package dataset

import (
	"strings"

	"github.com/cespare/xxhash/v2"
)

// Threading. Clients resend the whole history each turn, so the store holds
// turn 1, turns 1-2, turns 1-3, … of one conversation as separate records.
// A record's transcript is its conversation plus its answer; it is a
// prefix of a later record when that record's conversation starts with it.
// Each message gets a hash and each prefix the chained hash of its
// messages. Export reads the store newest first and puts into a set the
// hash of every prefix of every conversation that ends with an assistant
// message (only those can be a transcript). A record whose transcript hash
// is in the set is continued by a later one, read before it, and is
// dropped: only the leaves of each chain are exported. A branch (the user
// edited an earlier message) starts a new chain, so both branches are
// kept. So is a conversation that repeats the start of an older one: it is
// continued by nothing that came after it.

// messageHash hashes what identifies a message for threading: role, text
// with surrounding white space trimmed (clients differ there), and calls.
// Each field is hashed on its own (xxhash, ~10× FNV's speed on long text:
// every turn's record hashes the whole history again) and chained, so
// field boundaries need no separators.
func messageHash(m *Message) uint64 {
	h := chain(xxhash.Sum64String(m.Role), xxhash.Sum64String(strings.TrimSpace(m.Content)))
	for _, tc := range m.ToolCalls {
		h = chain(h, xxhash.Sum64String(tc.Name)^callTag)
		h = chain(h, xxhash.Sum64String(tc.Arguments))
	}
	return chain(h, xxhash.Sum64String(m.ToolCallID)^idTag)
}

// splitHash is messageHash as it was first written, with FNV: the train/test
// split and the sample are decided on it (rootHash), and a seed must choose
// the same conversations in every release. It hashes only the messages up
// to the first user turn, so its speed does not matter.
func splitHash(m *Message) uint64 {
	h := fnvAdd(fnvOffset, m.Role)
	h = fnvAdd(h, "\x00")
	h = fnvAdd(h, strings.TrimSpace(m.Content))
	for _, tc := range m.ToolCalls {
		h = fnvAdd(h, "\x01")
		h = fnvAdd(h, tc.Name)
		h = fnvAdd(h, "\x00")
		h = fnvAdd(h, tc.Arguments)
	}
	h = fnvAdd(h, "\x02")
	return fnvAdd(h, m.ToolCallID)
}

// Tags that tell a call's name and a tool call id from other fields.
const (
	callTag = 0x6a09e667f3bcc908
	idTag   = 0xbb67ae8584caa73b
)

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// fnvAdd is FNV-1a over s, continuing from h: for words, shorter than
// xxhash's setup pays for, and for splitHash.
func fnvAdd(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

// chain extends a prefix hash by one message hash.
func chain(prefix, msg uint64) uint64 {
	return mix(prefix*0x9e3779b97f4a7c15 ^ mix(msg))
}

// mix is splitmix64's finalizer: it spreads a hash over all bits.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// prefixHashes calls fn with the hash of every prefix of msgs that ends
// with an assistant message, and returns the hash of the whole.
func prefixHashes(msgs []Message, fn func(uint64)) uint64 {
	var h uint64 = 0x9e3779b97f4a7c15
	for i := range msgs {
		h = chain(h, messageHash(&msgs[i]))
		if msgs[i].Role == "assistant" && fn != nil {
			fn(h)
		}
	}
	return h
}

// hashSet is a set of 64-bit hashes, open addressing with linear probing:
// 8 bytes a slot at a load of at most 1/2, so 16 bytes per hash, a fifth
// of a map[uint64]struct{}.
type hashSet struct {
	slots []uint64 // 0 is empty; the hash 0 is stored as 1
	n     int
	a     *arena // where the slots live; nil: the Go heap
}

func (s *hashSet) add(h uint64) bool {
	if h == 0 {
		h = 1
	}
	if 2*(s.n+1) > len(s.slots) {
		s.grow()
	}
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case 0:
			s.slots[i] = h
			s.n++
			return true
		case h:
			return false
		}
	}
}

func (s *hashSet) has(h uint64) bool {
	if h == 0 {
		h = 1
	}
	if len(s.slots) == 0 {
		return false
	}
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case 0:
			return false
		case h:
			return true
		}
	}
}

func (s *hashSet) grow() {
	old := s.slots
	s.slots = s.a.uint64s(max(1024, 2*len(old)))
	s.n = 0
	for _, h := range old {
		if h != 0 {
			s.add(h)
		}
	}
	s.a.freeUint64s(old)
}

// bytes is the memory the set holds.
func (s *hashSet) bytes() int { return 8 * len(s.slots) }
