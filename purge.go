package lyumen

import (
	"fmt"
	"time"
)

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

// Check refuses a purge by a time later than now: a store keeps the time
// and refuses every record received before it from then on (so that a
// spool shipping purged records again cannot bring them back), and a
// future time would refuse the records still to come, answered but never
// stored.
func (p Purge) Check(now time.Time) error {
	if p.Before.After(now) {
		return fmt.Errorf("purge: %s is later than now (%s): records received until then would be answered and never stored", p.Before.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return nil
}
