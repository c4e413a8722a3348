package postgres

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"sync"

	"github.com/jackc/pgx/v5"
)

// maxLabels bounds how many labels a DB remembers. When it would hold
// more, it forgets them all and reads them again as batches need them.
const maxLabels = 1 << 16

// labelCache remembers the ids of labels (migration 0002): the strings
// every record repeats, such as the model and the user agent. Only ids
// read back after their insert committed are added, and labels are never
// deleted, so a remembered id always exists; a purge may blank its value
// (see blankAgents), and a writer that sees the purge's epoch forgets
// them all.
type labelCache struct {
	mu  sync.Mutex
	ids map[string]int32
}

func (c *labelCache) forget() {
	c.mu.Lock()
	c.ids = nil
	c.mu.Unlock()
}

// labelHash is a label's key in the labels table.
func labelHash(v string) []byte {
	h := sha256.Sum256([]byte(v))
	return h[:16]
}

// labelIDs sets the id of each key of want, adding to the labels table
// the values it lacks. The inserts commit on their own, before the batch
// that needs them: a label nothing refers to is harmless, and another
// gateway adding the same one waits only for this statement.
func (db *DB) labelIDs(ctx context.Context, want map[string]int32) error {
	var missing []string
	db.labels.mu.Lock()
	for v := range want {
		if id, ok := db.labels.ids[v]; ok {
			want[v] = id
		} else {
			missing = append(missing, v)
		}
	}
	db.labels.mu.Unlock()
	if len(missing) == 0 {
		return nil
	}
	// In one order for every gateway, as blobs are: two inserting the same
	// new labels in map order could each lock one the other needs next.
	slices.Sort(missing)
	hashes := make([][]byte, len(missing))
	for i, v := range missing {
		hashes[i] = labelHash(v)
	}
	// Read committed: the SELECT sees labels another gateway committed
	// while the INSERT waited for it.
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO labels (hash, value)
		SELECT v.hash, v.value FROM unnest($1::bytea[], $2::text[]) AS v(hash, value)
		WHERE NOT EXISTS (SELECT 1 FROM labels l WHERE l.hash = v.hash)
		ON CONFLICT (hash) DO NOTHING`, hashes, missing)
	b.Queue(`SELECT hash, id FROM labels WHERE hash = ANY($1)`, hashes)
	byHash := make(map[string]int32, len(missing))
	br := db.pool.SendBatch(ctx, b)
	err := readLabels(br, byHash)
	// Close reads to the end of the batch: the inserts have committed.
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("labels: %w", err)
	}
	db.labels.mu.Lock()
	defer db.labels.mu.Unlock()
	if db.labels.ids == nil || len(db.labels.ids)+len(missing) > maxLabels {
		db.labels.ids = make(map[string]int32)
	}
	for i, v := range missing {
		id, ok := byHash[string(hashes[i])]
		if !ok {
			return fmt.Errorf("labels: %q not stored", v)
		}
		want[v] = id
		db.labels.ids[v] = id
	}
	return nil
}

// readLabels reads the results of labelIDs's batch: the insert's, then
// the ids by hash.
func readLabels(br pgx.BatchResults, byHash map[string]int32) error {
	if _, err := br.Exec(); err != nil {
		return err
	}
	rows, err := br.Query()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			h  []byte
			id int32
		)
		if err := rows.Scan(&h, &id); err != nil {
			return err
		}
		byHash[string(h)] = id
	}
	return rows.Err()
}
