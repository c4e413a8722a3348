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
	path := filepath.Join(dir, checkpointName)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
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
	if err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	return nil
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
