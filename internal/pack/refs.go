package pack

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"slices"
	"unsafe"
)

// target is the value a piece goes back into.
type target uint64

const (
	inBody target = iota
	inConversation
	inResponse
	nTargets
)

// Refs is a list of splices, one per piece cut out of a record, in order
// within each value. Each starts with a uvarint: where the piece goes,
// counted from the previous splice into the same value, shifted left by 3;
// bit 2 set when the piece came earlier in this record; bits 0 and 1 the
// value (target). Then either the piece's hash, or, for a piece that came
// earlier, a uvarint: the number of the hash among those written out so
// far, from 0. The conversation repeats the request's content, so most of
// its splices take 3 bytes instead of 17.
const (
	refShift  = 3
	refRepeat = 1 << 2
	refTarget = refRepeat - 1
)

// maxOffset bounds a splice's offset: values are far smaller.
const maxOffset = 1 << 40

// cutter cuts pieces out of a record's values and collects them and the
// refs.
type cutter struct {
	refs   []byte
	pieces []Piece
	// seen numbers the pieces written out, by their bytes: the
	// conversation repeats the request's content, and comparing bytes
	// costs a tenth of hashing them again. The keys alias the values
	// being cut, which nothing changes while the cutter lives.
	seen map[string]int
}

// cut removes the pieces (in order, not overlapping) from v, and returns
// what is left.
func (c *cutter) cut(v []byte, pieces []span, t target) []byte {
	pieces = slices.DeleteFunc(pieces, func(sp span) bool { return sp.end-sp.start < minPiece })
	if len(pieces) == 0 {
		return v
	}
	n := len(v)
	for _, sp := range pieces {
		n -= sp.end - sp.start
	}
	rest := make([]byte, 0, n) // the exact size: growing it cost two more copies
	// A splice is a short uvarint and a hash, or less for a repeat.
	c.refs = slices.Grow(c.refs, len(pieces)*(binary.MaxVarintLen64/2+HashSize))
	c.pieces = slices.Grow(c.pieces, len(pieces))
	prev, last := 0, 0
	for _, sp := range pieces {
		rest = append(rest, v[prev:sp.start]...)
		prev = sp.end
		off := uint64(len(rest)-last) << refShift
		last = len(rest)
		piece := v[sp.start:sp.end]
		key := unsafe.String(unsafe.SliceData(piece), len(piece))
		if n, ok := c.seen[key]; ok {
			c.refs = binary.AppendUvarint(c.refs, off|refRepeat|uint64(t))
			c.refs = binary.AppendUvarint(c.refs, uint64(n))
			continue
		}
		h := sum(piece)
		c.seen[key] = len(c.pieces)
		c.refs = binary.AppendUvarint(c.refs, off|uint64(t))
		c.refs = append(c.refs, h[:]...)
		c.pieces = append(c.pieces, Piece{Hash: h, Raw: piece})
	}
	return append(rest, v[prev:]...)
}

// sum names a piece by its exact bytes: two pieces that differ in any byte,
// white space included, are two blobs, so every record reads back exactly
// as it was written.
func sum(piece []byte) Hash {
	full := sha256.Sum256(piece)
	return Hash(full[:HashSize])
}

// Refs lists the blobs a row refers to, each once.
func Refs(refs []byte) ([]Hash, error) {
	var out []Hash
	err := walk(refs, func(_ target, _ int, h Hash, repeat bool) error {
		if !repeat {
			out = append(out, h)
		}
		return nil
	})
	return out, err
}

// Orphans are the blobs that deleted records referred to, less those that
// records still stored refer to: what a purge deletes. Add the refs of each
// record deleted, then Keep those of each record left.
type Orphans map[Hash]struct{}

// Add adds the blobs a deleted row referred to.
func (o Orphans) Add(refs []byte) error {
	return walk(refs, func(_ target, _ int, h Hash, _ bool) error {
		o[h] = struct{}{}
		return nil
	})
}

// Keep removes the blobs a remaining row refers to.
func (o Orphans) Keep(refs []byte) error {
	return walk(refs, func(_ target, _ int, h Hash, _ bool) error {
		delete(o, h)
		return nil
	})
}

// walkRefs calls f for every splice in refs.
func walkRefs(refs []byte, f func(t target, off int, h Hash) error) error {
	return walk(refs, func(t target, off int, h Hash, _ bool) error { return f(t, off, h) })
}

func walk(refs []byte, f func(t target, off int, h Hash, repeat bool) error) error {
	var (
		offs   [nTargets]int
		hashes []Hash
	)
	bad := errors.New("pack: bad refs")
	for len(refs) > 0 {
		d, n := binary.Uvarint(refs)
		if n <= 0 || d>>refShift > maxOffset {
			return bad
		}
		refs = refs[n:]
		t := target(d & refTarget)
		if t >= nTargets {
			return bad
		}
		offs[t] += int(d >> refShift)
		var h Hash
		repeat := d&refRepeat != 0
		if repeat {
			i, n := binary.Uvarint(refs)
			if n <= 0 || i >= uint64(len(hashes)) {
				return bad
			}
			refs = refs[n:]
			h = hashes[i]
		} else {
			if len(refs) < HashSize {
				return bad
			}
			h = Hash(refs[:HashSize])
			refs = refs[HashSize:]
			hashes = append(hashes, h)
		}
		if err := f(t, offs[t], h, repeat); err != nil {
			return err
		}
	}
	return nil
}
