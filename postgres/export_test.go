package postgres

// SetAfterRows makes db call f after it reads rows and before it reads
// their blobs.
func SetAfterRows(db *DB, f func()) { db.afterRows = f }

// Remembers reports whether db's packer holds text in memory.
func Remembers(db *DB, text string) bool { return db.packer.Remembers(text) }
