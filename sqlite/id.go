package sqlite

import (
	"encoding/hex"
	"errors"
)

// Record ids are UUIDs (the gateway makes UUIDv7s). They are stored as
// their 16 bytes, as PostgreSQL's uuid type stores them, not as 36
// characters: 40 bytes less per record, counting the key's index. They
// read back in the canonical lower-case form.

var errBadID = errors.New("not a UUID")

// parseID parses a UUID in its canonical form, 8-4-4-4-12 hex digits.
func parseID(s string) ([]byte, error) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return nil, errBadID
	}
	var b [16]byte
	j := 0
	for _, g := range [][2]int{{0, 8}, {9, 13}, {14, 18}, {19, 23}, {24, 36}} {
		n, err := hex.Decode(b[j:], []byte(s[g[0]:g[1]]))
		if err != nil {
			return nil, errBadID
		}
		j += n
	}
	return b[:], nil
}

// formatID formats a stored id.
func formatID(b []byte) string {
	h := hex.EncodeToString(b)
	if len(h) != 32 {
		return h // not written by WriteRecords
	}
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
