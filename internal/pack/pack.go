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

// Pack lays rec out. Blobs may repeat across records (that is the point):
// stores insert them with "on conflict do nothing".
//
// Refs is a list of splices, each a uvarint (where the blob goes in the cut
// body, counted from the previous splice) and a hash. The cut body keeps
// everything else, brackets, commas and white space included, so a body
// comes back byte for byte. A body that is not a JSON object is stored whole.
func (p *Packer) Pack(rec *lyumen.Record) (Row, []Blob, error) {
	var row Row
	var blobs []Blob
	if rec.Request != nil { // nil stays nil, apart from empty
		var body []byte
		body, row.Refs, blobs = p.cut(rec.Request)
		row.Body = p.Encode(body)
	}
	if rec.Response != nil {
		b, err := json.Marshal(rec.Response)
		if err != nil {
			return row, nil, fmt.Errorf("pack response: %w", err)
		}
		row.Response = p.Encode(b)
	}
	if rec.Attempts != nil {
		b, err := json.Marshal(rec.Attempts)
		if err != nil {
			return row, nil, fmt.Errorf("pack attempts: %w", err)
		}
		row.Attempts = p.Encode(b)
	}
	return row, blobs, nil
}

// cut removes each element of the messages array and the whole tools
// array from a request body. Each piece is hashed in its compact form, so
// white space does not defeat sharing.
func (p *Packer) cut(body []byte) (rest, refs []byte, blobs []Blob) {
	spans, ok := topLevel(body, "messages", "tools")
	if !ok {
		return body, nil, nil
	}
	var pieces []span
	for _, sp := range spans {
		if sp.key == "messages" && body[sp.start] == '[' {
			elems, ok := arrayElems(body, sp.start)
			if !ok {
				return body, nil, nil // cannot happen for a body that decoded
			}
			pieces = append(pieces, elems...)
			continue
		}
		pieces = append(pieces, sp)
	}
	if len(pieces) == 0 {
		return body, nil, nil
	}
	rest = make([]byte, 0, len(body)/4)
	prev, last := 0, 0
	for _, sp := range pieces {
		rest = append(rest, body[prev:sp.start]...)
		prev = sp.end
		refs = binary.AppendUvarint(refs, uint64(len(rest)-last))
		last = len(rest)
		piece := body[sp.start:sp.end]
		b := Blob{Hash: sum(piece), Data: p.Encode(piece)}
		refs = append(refs, b.Hash[:]...)
		blobs = append(blobs, b)
	}
	return append(rest, body[prev:]...), refs, blobs
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
	err := walkRefs(refs, func(_ int, h Hash) error { out = append(out, h); return nil })
	return out, err
}

func walkRefs(refs []byte, f func(off int, h Hash) error) error {
	off := 0
	for len(refs) > 0 {
		d, n := binary.Uvarint(refs)
		if n <= 0 || len(refs) < n+HashSize || d > 1<<40 {
			return errors.New("pack: bad refs")
		}
		off += int(d)
		var h Hash
		copy(h[:], refs[n:n+HashSize])
		refs = refs[n+HashSize:]
		if err := f(off, h); err != nil {
			return err
		}
	}
	return nil
}

// Unpack rebuilds a record's request body, response and attempts from its
// row and the blobs it refers to (looked up by blob).
func (p *Packer) Unpack(rec *lyumen.Record, row Row, blob func(Hash) ([]byte, error)) error {
	if row.Body == nil {
		rec.Request = nil
		return p.unpackRest(rec, row)
	}
	body, err := p.Decode(row.Body)
	if err != nil {
		return err
	}
	out := make([]byte, 0, len(body)*4)
	prev := 0
	err = walkRefs(row.Refs, func(off int, h Hash) error {
		if off > len(body) {
			return errors.New("pack: refs past the body")
		}
		out = append(out, body[prev:off]...)
		prev = off
		b, err := blob(h)
		if err != nil {
			return fmt.Errorf("pack: blob %x: %w", h, err)
		}
		if b, err = p.Decode(b); err != nil {
			return err
		}
		out = append(out, b...)
		return nil
	})
	if err != nil {
		return err
	}
	rec.Request = append(out, body[prev:]...)
	return p.unpackRest(rec, row)
}

func (p *Packer) unpackRest(rec *lyumen.Record, row Row) error {
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
