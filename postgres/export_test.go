package postgres

// SetAfterRows makes db call f after it reads rows and before it reads
// their blobs.
func SetAfterRows(db *DB, f func()) { db.afterRows = f }
