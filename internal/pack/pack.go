// Package pack lays a record out for storage so that storage grows linearly
// with a conversation, not with its square: clients resend the whole history
// every turn, so the content of each message (and each tools array) is
// stored once, in a blob named by its hash, and the record keeps references
// to it. The answer in a response shares its blob with the same answer
// resent in the next turn, and the canonical conversation shares the
// request's. What is left of a record is compressed with a dictionary of
// the JSON around content. Both stores use this one layout.
package pack

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/klauspost/compress/huff0"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"

	"github.com/lyumen/lyumen"
)

// HashSize is the length of a blob reference: 128 bits of SHA-256 leave
// collisions out of reach for any store this will ever see.
const HashSize = 16

// Hash names a blob by its content.
type Hash [HashSize]byte

// Blob is one stored piece of content, encoded (see Encode).
type Blob struct {
	Hash Hash
	Data []byte
}

// Row is a record's own columns in storage form. Each value is nil when
// the record's field is nil.
type Row struct {
	// Body is the request body with its pieces cut out (see Pack), encoded.
	Body []byte
	// Refs says where the cut-out pieces go back (see Pack).
	Refs []byte
	// Conversation and Response are JSON with their pieces cut out, encoded.
	Conversation []byte
	Response     []byte
	// Attempts is JSON, encoded.
	Attempts []byte
}

// Which encoding a value gets. Content up to compressAbove is stored as
// it is: compression would not pay for its header. Up to huffmanUpTo it is
// Huffman-coded: in a message that short, zstd finds almost no matches, so
// it compresses no better, at two to three times the cost. Above, zstd.
// A record's skeleton (see encodeSkeleton) is compressed with S2 against a
// dictionary from compressSkeletonAbove up to skeletonUpTo, and like
// content above that.
const (
	compressAbove         = 128
	huffmanUpTo           = 1024
	compressSkeletonAbove = 16
	skeletonUpTo          = 16 << 10
)

// Encoding tags: the first byte of every stored value.
const (
	tagRaw = 0
	// tagZstd is a zstd frame without its magic number (zstdMagic).
	tagZstd = 1
	// tagSkeleton is an S2 block, compressed with the skeleton dictionary
	// (skeleton.go).
	tagSkeleton = 2
	// tagHuffman is a uvarint, the length, then a huff0 table and stream.
	tagHuffman = 3
)

// Packer packs and unpacks records. It holds the coders, which are
// expensive to build and safe for concurrent use: build one per store.
type Packer struct {
	enc  *zstd.Encoder
	dec  *zstd.Decoder
	skel *s2.Dict
	huff sync.Pool // of *huff0.Scratch
	s2   sync.Pool // of *[]byte, room for encodeSkeleton's output
	// Recent skeletons of request bodies and conversations; those of
	// answers and attempts hold ids and times, and seldom repeat.
	skeletons skeletons
}

// New returns a Packer.
func New() *Packer {
	// Neither constructor fails with these options. Values are small (a
	// message, an answer): the lower-memory encoder clears smaller tables
	// before each, which makes it faster at the same ratio. Encoding runs
	// on up to GOMAXPROCS goroutines at once.
	enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithLowerEncoderMem(true))
	dec, _ := zstd.NewReader(nil, zstd.WithDecoderConcurrency(0))
	return &Packer{enc: enc, dec: dec, skel: s2.MakeDictManual([]byte(skeleton), skeletonRepeat)}
}

// Encode tags b and compresses it when that makes it smaller. It is for
// content: messages, answers, tools.
func (p *Packer) Encode(b []byte) []byte {
	switch {
	case len(b) <= compressAbove:
	case len(b) <= huffmanUpTo:
		if h, ok := p.huffman(b); ok {
			return h
		}
		// Incompressible, or one byte repeated, which zstd does better.
		fallthrough
	default:
		if z := compress(p.enc, tagZstd, b); len(z) < len(b) {
			return z
		}
	}
	return raw(b)
}

func (p *Packer) huffman(b []byte) ([]byte, bool) {
	s, _ := p.huff.Get().(*huff0.Scratch)
	if s == nil {
		s = new(huff0.Scratch)
	}
	defer p.huff.Put(s)
	s.Reuse = huff0.ReusePolicyNone // every value carries its own table
	h, _, err := huff0.Compress1X(b, s)
	if err != nil || len(h)+1+binary.MaxVarintLen32 >= len(b) {
		return nil, false
	}
	out := make([]byte, 0, 1+binary.MaxVarintLen32+len(h))
	out = binary.AppendUvarint(append(out, tagHuffman), uint64(len(b)))
	return append(out, h...), true // h is the scratch's: copied
}

func (p *Packer) unhuffman(b []byte) ([]byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > huffmanUpTo {
		return nil, errors.New("pack: bad huffman length")
	}
	s, _ := p.huff.Get().(*huff0.Scratch)
	if s == nil {
		s = new(huff0.Scratch)
	}
	defer p.huff.Put(s)
	s.MaxDecodedSize = int(n)
	s, stream, err := huff0.ReadTable(b[k:], s)
	if err != nil {
		return nil, fmt.Errorf("pack: huffman table: %w", err)
	}
	out, err := s.Decompress1X(stream)
	if err != nil {
		return nil, fmt.Errorf("pack: huffman: %w", err)
	}
	if len(out) != int(n) {
		return nil, errors.New("pack: huffman length")
	}
	return bytes.Clone(out), nil // out is the scratch's
}

// encodeSkeleton is Encode for what is left of a record's JSON once its
// content is cut out: mostly keys and punctuation, which the skeleton
// dictionary holds, so that even a short value compresses to a third. S2
// is the coder for it: the value is nearly all matches, which S2 finds
// as well as zstd, without building entropy tables for each value, at a
// quarter of the cost.
func (p *Packer) encodeSkeleton(b []byte) []byte {
	switch {
	case len(b) <= compressSkeletonAbove:
	case len(b) <= skeletonUpTo:
		if z := p.encodeS2(b); z != nil {
			return z
		}
	default: // a body that is not an object, stored whole
		return p.Encode(b)
	}
	return raw(b)
}

// encodeS2 returns b compressed against the skeleton dictionary and
// tagged, or nil when that is not smaller. S2 needs room for its worst
// case, and writes a third of it: it writes into pooled room, and the
// value keeps a copy of exactly its size.
func (p *Packer) encodeS2(b []byte) []byte {
	bp, _ := p.s2.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	defer p.s2.Put(bp)
	if n := s2.MaxEncodedLen(len(b)); len(*bp) < n {
		*bp = make([]byte, n)
	}
	z := p.skel.Encode(*bp, b)
	if len(z) >= len(b) {
		return nil
	}
	return append(append(make([]byte, 0, 1+len(z)), tagSkeleton), z...)
}

func raw(b []byte) []byte {
	out := make([]byte, 0, len(b)+1)
	return append(append(out, tagRaw), b...)
}

// zstdMagic starts every zstd frame. The tag says as much, so it is not
// stored: four bytes of every compressed value.
var zstdMagic = [4]byte{0x28, 0xb5, 0x2f, 0xfd}

// compress returns tag and b compressed into a zstd frame, without the
// frame's magic number.
func compress(enc *zstd.Encoder, tag byte, b []byte) []byte {
	z := enc.EncodeAll(b, []byte{tag})
	return append(z[:1], z[1+len(zstdMagic):]...)
}

// Decode reverses Encode.
func (p *Packer) Decode(b []byte) ([]byte, error) {
	if len(b) == 0 {
		return nil, errors.New("pack: empty value")
	}
	switch b[0] {
	case tagRaw:
		return b[1:], nil
	case tagHuffman:
		return p.unhuffman(b[1:])
	case tagSkeleton:
		if n, err := s2.DecodedLen(b[1:]); err != nil || n > skeletonUpTo {
			return nil, errors.New("pack: bad skeleton value")
		}
		out, err := p.skel.Decode(nil, b[1:])
		if err != nil {
			return nil, fmt.Errorf("pack: skeleton: %w", err)
		}
		return out, nil
	case tagZstd:
		frame := make([]byte, 0, len(zstdMagic)+len(b)-1)
		frame = append(append(frame, zstdMagic[:]...), b[1:]...)
		out, err := p.dec.DecodeAll(frame, nil)
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
// The pieces cut out into blobs are: in the request body, the content of
// each message of the messages array when it is a string (otherwise the
// whole message) and the whole tools array; in the canonical conversation,
// the content of each message, the text and data of each part, and the
// tools; in the response, the content of each choice's message. A content
// string is cut with its quotes, as the bytes that carry it, so an answer
// that the client sends back in the next turn's history is stored once
// whatever the client does with the rest of the message (field order,
// spacing, extra fields), and the canonical conversation, encoded as the
// response is, shares the answers' blobs even with clients that escape
// differently. Pieces shorter than minPiece stay where they are: a
// reference would cost more.
//
// The cut values keep everything else, brackets, commas and white space
// included, so a body comes back byte for byte. A body that is not a JSON
// object is stored whole. Refs is described in refs.go.
func (p *Packer) Pack(rec *lyumen.Record) (Row, []Blob, error) {
	row, pieces, err := p.Cut(rec)
	if err != nil {
		return row, nil, err
	}
	blobs := make([]Blob, len(pieces))
	for i, pc := range pieces {
		blobs[i] = p.Blob(pc)
	}
	return row, blobs, nil
}

// Piece is a blob before encoding: the bytes cut out and their hash.
type Piece struct {
	Hash Hash
	// Raw shares memory with the record or its JSON: read it, do not keep
	// or change it.
	Raw []byte
}

// Forget drops what p remembers of recent records (the short content left
// in their skeletons), so that after a purge none of it stays in memory.
func (p *Packer) Forget() { p.skeletons.forget() }

// Blob encodes a piece for storage.
func (p *Packer) Blob(pc Piece) Blob { return Blob{Hash: pc.Hash, Data: p.Encode(pc.Raw)} }

// Cut is Pack without encoding the pieces, for a store that encodes only
// those it does not hold yet: in a conversation, that is the last question
// and answer, not the history resent with them. A piece is listed once
// however often the record holds it.
func (p *Packer) Cut(rec *lyumen.Record) (Row, []Piece, error) {
	var (
		row Row
		c   = cutter{seen: map[string]int{}}
		// where each value's pieces are, one value at a time
		pieces [32]span
	)
	if rec.Request != nil { // nil stays nil, apart from empty
		row.Body = p.skeletons.encode(p, c.cut(rec.Request, requestPieces(pieces[:0], rec.Request), inBody))
	}
	if rec.Conversation != nil {
		b := appendConversation(make([]byte, 0, len(rec.Request)+256), rec.Conversation)
		row.Conversation = p.skeletons.encode(p, c.cut(b, conversationPieces(pieces[:0], b), inConversation))
	}
	if rec.Response != nil {
		b := appendResponse(make([]byte, 0, responseSize(rec.Response)), rec.Response)
		row.Response = p.encodeSkeleton(c.cut(b, responsePieces(pieces[:0], b), inResponse))
	}
	if rec.Attempts != nil {
		row.Attempts = p.encodeSkeleton(appendAttempts(make([]byte, 0, 128*len(rec.Attempts)+2), rec.Attempts))
	}
	row.Refs = c.refs
	return row, c.pieces, nil
}

// minPiece is the shortest piece worth a blob. Below it, the reference in
// every record that repeats the piece, and the blob's own row, cost more
// than the piece kept in the value, where it is compressed with the rest.
const minPiece = 32

// requestPieces finds what to cut from a request body (see Pack).
func requestPieces(pieces []span, body []byte) []span {
	var top [2]span
	spans, ok := topLevel(top[:0], body, "messages", "tools")
	if !ok {
		return nil
	}
	var msgBuf [16]span
	for _, sp := range spans {
		if sp.key != "messages" || body[sp.start] != '[' {
			pieces = append(pieces, sp)
			continue
		}
		elems, ok := arrayElems(msgBuf[:0], body, sp.start)
		if !ok {
			return nil // cannot happen for a body that decoded
		}
		for _, el := range elems {
			if content, ok := stringField(body, el.start, "content"); ok {
				el = content
			}
			pieces = append(pieces, el)
		}
	}
	return pieces
}

// MessageTexts returns where the texts of a chat request's messages are in
// body, quotes included, in order: each messages[].content that is a
// string, and in a content that is an array of blocks, each block's "text"
// or "content" that is a string (OpenAI's text parts, Anthropic's text and
// tool_result blocks). It returns none when body is not such a request.
// Secret scrubbing reads them one by one, so that the history a client
// resends can be skipped.
func MessageTexts(body []byte) [][2]int {
	var top [1]span
	spans, ok := topLevel(top[:0], body, "messages")
	if !ok {
		return nil
	}
	var msgBuf, blockBuf [16]span
	var contentBuf [1]span
	var textBuf [2]span
	var out [][2]int
	add := func(sp span) {
		if body[sp.start] == '"' {
			out = append(out, [2]int{sp.start, sp.end})
		}
	}
	for _, sp := range spans {
		for _, msg := range elems(msgBuf[:0], body, sp.start) {
			content, _, _ := objectFields(contentBuf[:0], body, msg.start, "content")
			for _, c := range content {
				add(c)
				for _, block := range elems(blockBuf[:0], body, c.start) {
					texts, _, _ := objectFields(textBuf[:0], body, block.start, "text", "content")
					for _, t := range texts {
						add(t)
					}
				}
			}
		}
	}
	return out
}

// conversationPieces finds what to cut from a lyumen.Conversation's JSON.
func conversationPieces(pieces []span, b []byte) []span {
	var top [2]span
	spans, ok := topLevel(top[:0], b, "messages", "tools")
	if !ok {
		return nil
	}
	var msgBuf, partBuf [16]span
	var fieldBuf [2]span
	var valueBuf [3]span
	for _, sp := range spans {
		if sp.key == "tools" {
			pieces = append(pieces, sp)
			continue
		}
		for _, msg := range elems(msgBuf[:0], b, sp.start) {
			fields, _, ok := objectFields(fieldBuf[:0], b, msg.start, "content", "parts")
			if !ok {
				continue
			}
			for _, f := range fields { // in the order of the JSON
				if f.key == "content" && b[f.start] == '"' {
					pieces = append(pieces, f)
					continue
				}
				for _, part := range elems(partBuf[:0], b, f.start) {
					values, _, _ := objectFields(valueBuf[:0], b, part.start, "text", "url", "data")
					pieces = append(pieces, values...) // strings, as Part has them
				}
			}
		}
	}
	return pieces
}

// responsePieces finds the content of each choice's message in a
// response's JSON.
func responsePieces(pieces []span, b []byte) []span {
	var top [1]span
	spans, ok := topLevel(top[:0], b, "choices")
	if !ok || len(spans) == 0 {
		return nil
	}
	var choiceBuf [4]span
	var msgBuf [1]span
	for _, ch := range elems(choiceBuf[:0], b, spans[0].start) {
		msg, _, ok := objectFields(msgBuf[:0], b, ch.start, "message")
		if !ok || len(msg) == 0 {
			continue
		}
		if content, ok := stringField(b, msg[0].start, "content"); ok {
			pieces = append(pieces, content)
		}
	}
	return pieces
}

// elems appends to dst the elements of the array at b[i], or none when it
// is not an array.
func elems(dst []span, b []byte, i int) []span {
	if b[i] != '[' {
		return dst
	}
	out, ok := arrayElems(dst, b, i)
	if !ok {
		return dst
	}
	return out
}

// stringField finds the value of key in the object at b[i] when it is a
// string.
func stringField(b []byte, i int, key string) (span, bool) {
	if b[i] != '{' {
		return span{}, false
	}
	var buf [1]span
	fields, _, ok := objectFields(buf[:0], b, i, key)
	if !ok || len(fields) == 0 || b[fields[0].start] != '"' {
		return span{}, false
	}
	return fields[0], true
}

// Unpack rebuilds a record's request body, conversation, response and
// attempts from its row and the blobs it refers to (looked up by blob),
// and sets the usage counts that only the response keeps in rec.Usage
// (usageOf); the store sets the others.
func (p *Packer) Unpack(rec *lyumen.Record, row Row, blob func(Hash) ([]byte, error)) error {
	decoded := map[Hash][]byte{} // a blob may serve several values
	outs, err := p.rebuild([nTargets][]byte{inBody: row.Body, inConversation: row.Conversation, inResponse: row.Response},
		[nTargets]bool{inBody: true, inConversation: true, inResponse: true}, row.Refs,
		func(h Hash) ([]byte, error) {
			if b, ok := decoded[h]; ok {
				return b, nil
			}
			data, err := blob(h)
			if err != nil {
				return nil, err
			}
			b, err := p.Decode(data)
			decoded[h] = b
			return b, err
		})
	if err != nil {
		return err
	}
	rec.Request = outs[inBody]
	rec.Conversation, rec.Response, rec.Attempts = nil, nil, nil
	if outs[inConversation] != nil {
		rec.Conversation = new(lyumen.Conversation)
		if err := json.Unmarshal(outs[inConversation], rec.Conversation); err != nil {
			return fmt.Errorf("pack: conversation: %w", err)
		}
	}
	if outs[inResponse] != nil {
		rec.Response = new(lyumen.Response)
		if err := json.Unmarshal(outs[inResponse], rec.Response); err != nil {
			return fmt.Errorf("pack: response: %w", err)
		}
		usageOf(rec, rec.Response.Usage)
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

// usageOf sets rec.Usage's cached and reasoning counts from u, the
// response's usage (zero when nil). A store keeps the prompt, completion
// and total counts in columns of their own, and these two only in the
// response's JSON, where they are left out when zero: they came after the
// stores' schema, and a record without them keeps the bytes it had. The
// gateway records the response's usage as the record's, so the two agree.
func usageOf(rec *lyumen.Record, u *lyumen.Usage) {
	rec.Usage.CachedTokens, rec.Usage.ReasoningTokens = 0, 0
	if u != nil {
		rec.Usage.CachedTokens, rec.Usage.ReasoningTokens = u.CachedTokens, u.ReasoningTokens
	}
}

// rebuild decodes the coded values and puts back the pieces refs says
// were cut from them, each as content returns it, decoded. References into
// a value that is not wanted are skipped; into one that is wanted but nil,
// they are corruption.
func (p *Packer) rebuild(coded [nTargets][]byte, want [nTargets]bool, refs []byte, content func(Hash) ([]byte, error)) ([nTargets][]byte, error) {
	type piece struct {
		t    target
		off  int
		data []byte
	}
	var (
		values, outs [nTargets][]byte // what is left of each value, and the value rebuilt
		sizes        [nTargets]int
		pieces       []piece
		err          error
	)
	for t, v := range coded {
		if v == nil {
			continue
		}
		if values[t], err = p.Decode(v); err != nil {
			return outs, err
		}
		sizes[t] = len(values[t])
	}
	// The pieces first, so that each value is rebuilt into a buffer of its
	// exact size.
	err = walkRefs(refs, func(t target, off int, h Hash) error {
		if !want[t] {
			return nil
		}
		if values[t] == nil || off > len(values[t]) {
			return errors.New("pack: refs past the value")
		}
		b, err := content(h)
		if err != nil {
			return fmt.Errorf("pack: blob %x: %w", h, err)
		}
		pieces = append(pieces, piece{t, off, b})
		sizes[t] += len(b)
		return nil
	})
	if err != nil {
		return outs, err
	}
	var prevs [nTargets]int
	for t := range values {
		if coded[t] != nil { // a value that decodes to nothing is rebuilt as empty, not nil
			outs[t] = make([]byte, 0, sizes[t])
		}
	}
	for _, pc := range pieces { // offsets only grow (see walk)
		outs[pc.t] = append(append(outs[pc.t], values[pc.t][prevs[pc.t]:pc.off]...), pc.data...)
		prevs[pc.t] = pc.off
	}
	for t := range outs {
		if values[t] != nil {
			outs[t] = append(outs[t], values[t][prevs[t]:]...)
		}
	}
	return outs, nil
}
