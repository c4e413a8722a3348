package sqlite

import "context"

// Remembers reports whether db's packer holds text in memory.
func Remembers(db *DB, text string) bool { return db.packer.Remembers(text) }

// Pragma returns a setting as one of db's own connections has it.
func Pragma(ctx context.Context, db *DB, name string) (string, error) {
	var v string
	err := db.db.QueryRowContext(ctx, "PRAGMA "+name).Scan(&v)
	return v, err
}
