package spool

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
)

// The checkpoint file says how far the shipper got, so that a restart does
// not ship everything again:
//
//	magic "LYCK", segment seq uint64, offset uint64, CRC-32C of the 20
//	bytes before it; all little-endian, 24 bytes.
//
// Every record in a segment below seq, and every record before offset in
// segment seq, has been committed by the Writer. A checkpoint that is
// missing or fails its checksum is ignored: the records ship again, which
// the Writer tolerates. The shipper rewrites it at most once a second and
// when Run returns.
const (
	checkpointName  = "checkpoint"
	checkpointMagic = "LYCK"
	checkpointSize  = 24
	corruptDir      = "corrupt"
	newerDir        = "newer" // frames a newer release wrote, kept for it
	rejectedDir     = "rejected"
	lockName        = "lock"
)

type position struct {
	seq uint64
	off int64
}

func writeCheckpoint(dir string, p position) error {
	b := make([]byte, 0, checkpointSize)
	b = append(b, checkpointMagic...)
	b = binary.LittleEndian.AppendUint64(b, p.seq)
	b = binary.LittleEndian.AppendUint64(b, uint64(p.off))
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	if err := replaceFile(filepath.Join(dir, checkpointName), b); err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	return nil
}

// replaceFile writes b to path through a temporary file, fsynced, renamed.
func replaceFile(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	return err
}

// The ended file names exchanges that have their record although a
// progress of theirs is still on disk, in a segment kept for another
// exchange's progress (shipper.unpin), while the segment with their record
// may be gone: Open must not take them for interrupted.
//
//	magic "LYEN", uvarint count, count × (uvarint length, id), CRC-32C of
//	the bytes before it, little-endian.
//
// A missing or damaged file names none.
const (
	endedName  = "ended"
	endedMagic = "LYEN"
)

func writeEnded(dir string, ids map[string]bool) error {
	b := append([]byte(nil), endedMagic...)
	b = binary.AppendUvarint(b, uint64(len(ids)))
	for id := range ids {
		b = binary.AppendUvarint(b, uint64(len(id)))
		b = append(b, id...)
	}
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	if err := replaceFile(filepath.Join(dir, endedName), b); err != nil {
		return fmt.Errorf("write ended: %w", err)
	}
	return nil
}

func readEnded(dir string) map[string]bool {
	b, err := os.ReadFile(filepath.Join(dir, endedName))
	if err != nil || len(b) < len(endedMagic)+4 || !bytes.HasPrefix(b, []byte(endedMagic)) ||
		crc32.Checksum(b[:len(b)-4], castagnoli) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
		return nil
	}
	b = b[len(endedMagic) : len(b)-4]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return nil
	}
	b = b[k:]
	ids := make(map[string]bool, n)
	for range n {
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) {
			return nil
		}
		ids[string(b[k:k+int(l)])] = true
		b = b[k+int(l):]
	}
	return ids
}

// readCheckpoint returns the checkpoint, the zero position when there is
// none, and ok false when the file exists but is not a valid checkpoint.
func readCheckpoint(dir string) (p position, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, checkpointName))
	if errors.Is(err, fs.ErrNotExist) {
		return position{}, true, nil
	}
	if err != nil {
		return position{}, false, fmt.Errorf("read checkpoint: %w", err)
	}
	if len(b) != checkpointSize || !bytes.HasPrefix(b, []byte(checkpointMagic)) ||
		crc32.Checksum(b[:20], castagnoli) != binary.LittleEndian.Uint32(b[20:]) {
		return position{}, false, nil
	}
	off := binary.LittleEndian.Uint64(b[12:])
	if off > 1<<62 {
		return position{}, false, nil
	}
	return position{seq: binary.LittleEndian.Uint64(b[4:]), off: int64(off)}, true, nil
}
