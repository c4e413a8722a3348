package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

func monthKey(t time.Time) int { return t.Year()*12 + int(t.Month()) - 1 }

// ensurePartitions creates the monthly partitions a batch needs, and the
// next month's ahead of its first record. There is no default partition
// on purpose: rows in one would block creating the month they belong to.
func (db *DB) ensurePartitions(ctx context.Context, months map[int]time.Time) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	for key, t := range months {
		if db.months[key] {
			continue
		}
		if err := db.partition(ctx, t, db.partitionWait); err != nil {
			return err
		}
		db.months[key] = true
	}
	// Made by the first record after midnight, the new month's partition
	// waits for any reader of record_rows (a nightly pg_dump, an export),
	// and every gateway's writes wait behind it. Made ahead, a reader in
	// the way costs a try a minute later.
	now := time.Now().UTC()
	next := time.Date(now.Year(), now.Month()+1, 1, 0, 0, 0, 0, time.UTC)
	if key := monthKey(next); !db.months[key] && now.Sub(db.ahead) >= time.Minute {
		db.ahead = now
		if db.partition(ctx, next, time.Second) == nil {
			db.months[key] = true
		}
	}
	return nil
}

// partition makes sure the partition of t's month exists. Making one
// takes an ACCESS EXCLUSIVE lock on record_rows, which queues behind
// every reader and holds every other writer behind it while it waits, so
// the wait is bounded by wait: past it the batch fails and is retried.
func (db *DB) partition(ctx context.Context, t time.Time, wait time.Duration) error {
	from := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 1, 0)
	name := fmt.Sprintf("records_%04d_%02d", from.Year(), from.Month())
	// Serialized across gateways: concurrent CREATE … IF NOT EXISTS can
	// still collide in the catalogue.
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var attached bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_inherits
			WHERE inhrelid = to_regclass($1) AND inhparent = 'record_rows'::regclass)`, name).Scan(&attached); err != nil {
			return err
		}
		if attached { // made by another gateway: no lock needed
			return nil
		}
		if _, err := tx.Exec(ctx, `SELECT set_config('lock_timeout', $1, true)`, fmt.Sprint(wait.Milliseconds())); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(0x6c79756d656e+1)); err != nil {
			return err
		}
		// Rows up to a page stay whole (migration 0002).
		_, err := tx.Exec(ctx, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s PARTITION OF record_rows FOR VALUES FROM ('%s') TO ('%s')
			WITH (toast_tuple_target = 8160)`,
			pgx.Identifier{name}.Sanitize(), from.Format(time.RFC3339), to.Format(time.RFC3339)))
		return err
	})
	if err != nil {
		return fmt.Errorf("create partition %s: %w", name, err)
	}
	return nil
}
