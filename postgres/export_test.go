package postgres

import (
	"context"
	"time"
)

// SetAfterRows makes db call f after it reads rows and before it reads
// their blobs.
func SetAfterRows(db *DB, f func()) { db.afterRows = f }

// Remembers reports whether db's packer holds text in memory.
func Remembers(db *DB, text string) bool { return db.packer.Remembers(text) }

// Setting returns a setting as one of db's own connections has it.
func Setting(ctx context.Context, db *DB, name string) (string, error) {
	var v string
	err := db.pool.QueryRow(ctx, "SELECT current_setting($1)", name).Scan(&v)
	return v, err
}

// SetPartitionWait sets how long db waits for the lock a new partition takes.
func SetPartitionWait(db *DB, d time.Duration) { db.partitionWait = d }
