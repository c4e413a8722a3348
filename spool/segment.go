package spool

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// A segment is a file named <seq>.seg, seq a 20-digit decimal number that
// grows by one with each new segment. Records are only ever appended.
//
//	header  8 bytes: magic "LYSPOOL" and a version byte (segmentVersion)
//	frame   length   uint32, little-endian: bytes of payload, at least 1
//	        checksum uint32, little-endian: CRC-32C (Castagnoli) of the
//	                 4 length bytes followed by the payload
//	        payload  length bytes: one record (see codec.go)
//	frame   …
//
// The checksum covers the length too, so a flipped bit in a length is found
// like one in a payload. A frame is good only when its length fits in the
// file and its checksum matches; reading stops at the first frame that is
// not. Every offset the spool reports as durable is a frame boundary.
//
// A segment may end in zeros: the active segment is preallocated to
// SegmentBytes (see prepared), and a crash leaves the room it had not
// filled. In a file of that size, zeros from a frame boundary to the end
// are that room, not damage; a length of zero is never a frame.
const (
	segmentMagic   = "LYSPOOL"
	segmentVersion = 1
	headerSize     = 8
	frameHeader    = 8
	segmentExt     = ".seg"
	// prepExt marks a segment being preallocated, until it is renamed.
	prepExt = ".prep"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var segmentHeader = append([]byte(segmentMagic), segmentVersion)

// errVersion means a segment was written by a newer spool; Open refuses to
// touch it rather than take it for garbage.
var errVersion = errors.New("unsupported segment version")

func segmentName(seq uint64) string {
	return fmt.Sprintf("%020d%s", seq, segmentExt)
}

func parseSegmentName(name string) (uint64, bool) {
	digits, ok := strings.CutSuffix(name, segmentExt)
	if !ok || len(digits) != 20 {
		return 0, false
	}
	seq, err := strconv.ParseUint(digits, 10, 64)
	return seq, err == nil
}

// appendFrame appends a frame around the payload that enc appends.
func appendFrame(b []byte, enc func([]byte) []byte) []byte {
	start := len(b)
	b = append(b, make([]byte, frameHeader)...)
	b = enc(b)
	n := len(b) - start - frameHeader
	binary.LittleEndian.PutUint32(b[start:], uint32(n))
	crc := crc32.Update(0, castagnoli, b[start:start+4])
	crc = crc32.Update(crc, castagnoli, b[start+frameHeader:])
	binary.LittleEndian.PutUint32(b[start+4:], crc)
	return b
}

// frameAt checks the frame at the start of b. It returns the payload and the
// frame's full size, or ok false when b does not start with a good frame
// (too short for its declared length, or a checksum mismatch).
func frameAt(b []byte) (payload []byte, size int, ok bool) {
	if len(b) < frameHeader {
		return nil, 0, false
	}
	n := binary.LittleEndian.Uint32(b)
	if n == 0 || uint64(n) > uint64(len(b)-frameHeader) {
		return nil, 0, false
	}
	payload = b[frameHeader : frameHeader+int(n)]
	crc := crc32.Update(0, castagnoli, b[:4])
	crc = crc32.Update(crc, castagnoli, payload)
	if crc != binary.LittleEndian.Uint32(b[4:]) {
		return nil, 0, false
	}
	return payload, frameHeader + int(n), true
}

// scanResult is what checking a segment on Open found.
type scanResult struct {
	size    int64 // file size after repair
	records int64 // good records from the start offset on, progress not counted
	bytes   int64 // the bytes of all the good frames
	cut     int64 // offset of the first bad frame; -1 when none
	cutLen  int64 // bytes after the cut
	// tail is true when nothing after the cut passes as a frame: a write
	// torn by a crash. Otherwise the bytes after the cut may hold records
	// and are kept in quarantine.
	tail bool
}

// resyncLimit bounds the search for a good frame after a bad one, in bytes
// checksummed. Past it the spool assumes there may be one and quarantines.
const resyncLimit = 256 << 20

// scanSegment checks the frames of f from off to size, the file's size,
// and gives each good frame's payload, offset and size to visit, when set;
// the payload is valid only during the call. A file of prealloc bytes may end in zeros.
// buf is scratch space; it returns it, maybe grown.
func scanSegment(f *os.File, off, size, prealloc int64, buf []byte, visit func(payload []byte, off, size int64)) (scanResult, []byte, error) {
	res := scanResult{size: size, cut: -1}
	br := bufio.NewReaderSize(io.NewSectionReader(f, off, size-off), 1<<20)
	for off < size {
		n := int64(frameHeader)
		if size-off >= frameHeader {
			buf = slices.Grow(buf[:0], frameHeader)[:frameHeader]
			if _, err := io.ReadFull(br, buf); err != nil {
				return res, buf, fmt.Errorf("read %s at %d: %w", f.Name(), off, err)
			}
			n += int64(binary.LittleEndian.Uint32(buf))
		}
		if n > frameHeader && n <= size-off {
			buf = slices.Grow(buf, int(n-frameHeader))[:n]
			if _, err := io.ReadFull(br, buf[frameHeader:]); err != nil {
				return res, buf, fmt.Errorf("read %s at %d: %w", f.Name(), off, err)
			}
			if payload, _, ok := frameAt(buf); ok {
				if visit != nil {
					visit(payload, off, n)
				}
				off += n
				if payload[0] != progressTag {
					res.records++
				}
				res.bytes += n
				continue
			}
		}
		// Zeros to the end of a file of the preallocated size are the
		// room it had left, not damage. In a file of another size they
		// stay a torn tail: lost blocks read back as zeros too.
		if size == prealloc {
			zero, err := zeroFrom(f, off, size)
			if err != nil || zero {
				res.size = off
				return res, buf, err
			}
		}
		res.cut, res.cutLen, res.size = off, size-off, off
		var err error
		res.tail, err = tornTail(f, off, size)
		return res, buf, err
	}
	return res, buf, nil
}

// zeroFrom reports whether f holds only zero bytes from off to size.
func zeroFrom(f *os.File, off, size int64) (bool, error) {
	buf := make([]byte, min(size-off, 1<<20))
	for off < size {
		b := buf[:min(int64(len(buf)), size-off)]
		if _, err := f.ReadAt(b, off); err != nil {
			return false, fmt.Errorf("read %s at %d: %w", f.Name(), off, err)
		}
		for _, c := range b {
			if c != 0 {
				return false, nil
			}
		}
		off += int64(len(b))
	}
	return true, nil
}

// tornTail reports whether no good frame starts anywhere in (cut, size):
// then the bad bytes are the remains of one interrupted write. It looks at
// every offset, since after a bad frame the next boundary is unknown.
func tornTail(f *os.File, cut, size int64) (bool, error) {
	if size-cut > resyncLimit {
		return false, nil
	}
	b := make([]byte, size-cut)
	if _, err := f.ReadAt(b, cut); err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("read %s at %d: %w", f.Name(), cut, err)
	}
	budget := int64(resyncLimit)
	for i := 1; i+frameHeader < len(b); i++ {
		n := int64(binary.LittleEndian.Uint32(b[i:]))
		if n == 0 || n > int64(len(b)-i-frameHeader) {
			continue
		}
		if budget -= n; budget < 0 {
			return false, nil
		}
		if _, _, ok := frameAt(b[i:]); ok {
			return false, nil
		}
	}
	return true, nil
}

// checkHeader reports whether b is a segment header this spool can read.
// A torn header (a prefix of ours, crash while creating the file) is
// reported as torn; errVersion means ours but newer.
func checkHeader(b []byte) (torn bool, err error) {
	switch {
	case len(b) < headerSize && bytes.HasPrefix(segmentHeader, b):
		return true, nil
	case len(b) < headerSize || !bytes.Equal(b[:len(segmentMagic)], []byte(segmentMagic)):
		return false, errors.New("not a spool segment")
	case b[len(segmentMagic)] != segmentVersion:
		return false, fmt.Errorf("%w %d", errVersion, b[len(segmentMagic)])
	}
	return false, nil
}

// quarantine copies f's bytes from off to end into dir/sub/<name>.<off>
// (sub: corrupt, rejected), durably, so that cutting them from the segment
// loses nothing.
func quarantine(dir, sub string, f *os.File, off, end int64) (string, error) {
	cdir := filepath.Join(dir, sub)
	if err := os.MkdirAll(cdir, 0o700); err != nil {
		return "", fmt.Errorf("quarantine: %w", err)
	}
	path := filepath.Join(cdir, fmt.Sprintf("%s.%d", filepath.Base(f.Name()), off))
	q, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return "", fmt.Errorf("quarantine: %w", err)
	}
	_, err = io.Copy(q, io.NewSectionReader(f, off, end-off))
	if err == nil {
		err = q.Sync()
	}
	if cerr := q.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(cdir)
	}
	if err != nil {
		return "", fmt.Errorf("quarantine %s: %w", path, err)
	}
	return path, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
