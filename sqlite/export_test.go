package sqlite

// Remembers reports whether db's packer holds text in memory.
func Remembers(db *DB, text string) bool { return db.packer.Remembers(text) }
