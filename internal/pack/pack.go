// Package pack lays a record out for storage so that storage grows linearly
// with a conversation, not with its square: clients resend the whole history
// every turn, so each message (and each tools array) is stored once, by
// content hash, and the record keeps references to it. What is large is
// compressed. Both stores use this one layout.
package pack

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/klauspost/compress/zstd"

	"github.com/lyumen/lyumen"
)

// HashSize is the length of a blob reference: 128 bits of SHA-256 leave
// collisions out of reach for any store this will ever see.
const HashSize = 16

// Hash names a blob by its content.
type Hash [HashSize]byte

// Blob is one stored message or tools array, encoded (see Encode).
type Blob struct {
	Hash Hash
	Data []byte
}

// Row is a record's own columns in storage form.
type Row struct {
	// Body is the request body with every message and the tools array
	// cut out, encoded.
	Body []byte
	// Refs says where the cut-out pieces go back (see Pack).
	Refs []byte
	// Response and Attempts are JSON, encoded.
	Response []byte
	Attempts []byte
}

// compressAbove is the size from which compression pays for its header.
const compressAbove = 128

// Encoding tags: the first byte of every stored value.
const (
	tagRaw  = 0
	tagZstd = 1
)

// Packer packs and unpacks records. It holds the zstd coders, which are
// expensive to build and safe for concurrent use: build one per store.
type Packer struct {
	enc *zstd.Encoder
	dec *zstd.Decoder
}

// New returns a Packer.
func New() *Packer {
	// Neither constructor fails with these options.
	enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1))
	dec, _ := zstd.NewReader(nil, zstd.WithDecoderConcurrency(0))
	return &Packer{enc: enc, dec: dec}
}

// Encode tags b and compresses it when that makes it smaller.
func (p *Packer) Encode(b []byte) []byte {
	if len(b) > compressAbove {
		z := p.enc.EncodeAll(b, []byte{tagZstd})
		if len(z) < len(b) {
			return z
		}
	}
	out := make([]byte, 0, len(b)+1)
	return append(append(out, tagRaw), b...)
}

// Decode reverses Encode.
func (p *Packer) Decode(b []byte) ([]byte, error) {
	if len(b) == 0 {
		return nil, errors.New("pack: empty value")
	}
	switch b[0] {
	case tagRaw:
		return b[1:], nil
	case tagZstd:
		out, err := p.dec.DecodeAll(b[1:], nil)
		if err != nil {
			return nil, fmt.Errorf("pack: decompress: %w", err)
		}
		return out, nil
	}
	return nil, fmt.Errorf("pack: unknown encoding tag %d", b[0])
}

// Splice kinds in Refs.
const (
	spliceArray = 1 // the blobs, comma-separated inside brackets
	spliceValue = 2 // one blob, as is
)

// Pack lays rec out. Blobs may repeat across records (that is the point):
// stores insert them with "on conflict do nothing".
//
// Refs is a list of splices, each: uvarint offset into the cut body,
// kind byte, uvarint count, count hashes. A body that is not a JSON object
// is stored whole with no splices.
func (p *Packer) Pack(rec *lyumen.Record) (Row, []Blob, error) {
	var row Row
	body, refs, blobs := p.cut(rec.Request)
	row.Body = p.Encode(body)
	row.Refs = refs
	if rec.Response != nil {
		b, err := json.Marshal(rec.Response)
		if err != nil {
			return row, nil, fmt.Errorf("pack response: %w", err)
		}
		row.Response = p.Encode(b)
	}
	if len(rec.Attempts) > 0 {
		b, err := json.Marshal(rec.Attempts)
		if err != nil {
			return row, nil, fmt.Errorf("pack attempts: %w", err)
		}
		row.Attempts = p.Encode(b)
	}
	return row, blobs, nil
}

// cut removes the messages' elements and the tools array from a request
// body. Each piece is hashed in its compact form, so whitespace does not
// defeat sharing.
func (p *Packer) cut(body []byte) (rest, refs []byte, blobs []Blob) {
	spans, ok := topLevel(body, "messages", "tools")
	if !ok {
		return body, nil, nil
	}
	rest = make([]byte, 0, len(body)/4)
	prev := 0
	for _, sp := range spans {
		rest = append(rest, body[prev:sp.start]...)
		prev = sp.end
		refs = binary.AppendUvarint(refs, uint64(len(rest)))
		var pieces [][]byte
		kind := byte(spliceValue)
		if sp.key == "messages" && body[sp.start] == '[' {
			elems, ok := arrayElems(body[sp.start:sp.end])
			if !ok {
				// Cannot happen for a body that decoded; store it whole then.
				return body, nil, nil
			}
			kind, pieces = spliceArray, elems
		} else {
			pieces = [][]byte{body[sp.start:sp.end]}
		}
		refs = append(refs, kind)
		refs = binary.AppendUvarint(refs, uint64(len(pieces)))
		for _, piece := range pieces {
			b := Blob{Hash: sum(piece), Data: p.Encode(piece)}
			refs = append(refs, b.Hash[:]...)
			blobs = append(blobs, b)
		}
	}
	rest = append(rest, body[prev:]...)
	return rest, refs, blobs
}

func sum(piece []byte) Hash {
	h := sha256.New()
	compactInto(h, piece)
	var out Hash
	copy(out[:], h.Sum(nil))
	return out
}

// Refs lists the blob hashes a row refers to, in order.
func Refs(refs []byte) ([]Hash, error) {
	var out []Hash
	err := walkRefs(refs, func(_ uint64, _ byte, hs []Hash) { out = append(out, hs...) })
	return out, err
}

func walkRefs(refs []byte, f func(off uint64, kind byte, hs []Hash)) error {
	for len(refs) > 0 {
		off, n := binary.Uvarint(refs)
		if n <= 0 || len(refs) < n+1 {
			return errors.New("pack: bad refs")
		}
		kind := refs[n]
		refs = refs[n+1:]
		count, n := binary.Uvarint(refs)
		if n <= 0 || count > uint64(len(refs)/HashSize) {
			return errors.New("pack: bad refs")
		}
		refs = refs[n:]
		hs := make([]Hash, count)
		for i := range hs {
			copy(hs[i][:], refs[:HashSize])
			refs = refs[HashSize:]
		}
		f(off, kind, hs)
	}
	return nil
}

// Unpack rebuilds a record's request body, response and attempts from its
// row and the blobs it refers to (looked up by blob).
func (p *Packer) Unpack(rec *lyumen.Record, row Row, blob func(Hash) ([]byte, error)) error {
	body, err := p.Decode(row.Body)
	if err != nil {
		return err
	}
	out := make([]byte, 0, len(body)*4)
	prev := uint64(0)
	var ferr error
	err = walkRefs(row.Refs, func(off uint64, kind byte, hs []Hash) {
		if ferr != nil {
			return
		}
		if off < prev || off > uint64(len(body)) {
			ferr = errors.New("pack: refs out of order")
			return
		}
		out = append(out, body[prev:off]...)
		prev = off
		if kind == spliceArray {
			out = append(out, '[')
		}
		for i, h := range hs {
			b, err := blob(h)
			if err != nil {
				ferr = fmt.Errorf("pack: blob %x: %w", h, err)
				return
			}
			if b, err = p.Decode(b); err != nil {
				ferr = err
				return
			}
			if i > 0 {
				out = append(out, ',')
			}
			out = append(out, b...)
		}
		if kind == spliceArray {
			out = append(out, ']')
		}
	})
	if err != nil {
		return err
	}
	if ferr != nil {
		return ferr
	}
	rec.Request = append(out, body[prev:]...)
	if row.Response != nil {
		b, err := p.Decode(row.Response)
		if err != nil {
			return err
		}
		rec.Response = new(lyumen.Response)
		if err := json.Unmarshal(b, rec.Response); err != nil {
			return fmt.Errorf("pack: response: %w", err)
		}
	}
	if row.Attempts != nil {
		b, err := p.Decode(row.Attempts)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &rec.Attempts); err != nil {
			return fmt.Errorf("pack: attempts: %w", err)
		}
	}
	return nil
}
