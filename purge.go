package lyumen

import "time"

// Purge says which records to delete for good: those whose ID is listed,
// and those received before Before (zero: none by time).
type Purge struct {
	IDs    []string
	Before time.Time
}

// Purged is what a purge deleted. A store also deletes the stored content
// that only the purged records referred to, and overwrites what it freed
// where the store allows (see each store's Purge).
type Purged struct {
	Records  int64
	Blobs    int64    // pieces of content no other record refers to
	NotFound []string // IDs of Purge.IDs not in the store
	Warning  string   // what the store could not do, when the rest was done
}
