package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

func monthKey(t time.Time) int { return t.Year()*12 + int(t.Month()) - 1 }

// ensurePartitions creates the monthly partitions a batch needs. There is
// no default partition on purpose: rows in one would block creating the
// month they belong to.
func (db *DB) ensurePartitions(ctx context.Context, months map[int]time.Time) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	for key, t := range months {
		if db.months[key] {
			continue
		}
		from := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
		to := from.AddDate(0, 1, 0)
		name := pgx.Identifier{fmt.Sprintf("records_%04d_%02d", from.Year(), from.Month())}.Sanitize()
		// Serialized across gateways: concurrent CREATE … IF NOT EXISTS can
		// still collide in the catalogue.
		err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(0x6c79756d656e+1)); err != nil {
				return err
			}
			// Rows up to a page stay whole (migration 0002).
			_, err := tx.Exec(ctx, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s PARTITION OF record_rows FOR VALUES FROM ('%s') TO ('%s')
				WITH (toast_tuple_target = 8160)`,
				name, from.Format(time.RFC3339), to.Format(time.RFC3339)))
			return err
		})
		if err != nil {
			return fmt.Errorf("create partition %s: %w", name, err)
		}
		db.months[key] = true
	}
	return nil
}
