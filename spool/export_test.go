package spool

import (
	"os"
	"time"
)

// SetSyncCost sets the running average of a group's write + fsync time, as
// if the spool's disk were that slow. Call it before the first Record.
func SetSyncCost(s *Spool, d time.Duration) { s.syncCost = d }

// WrapSync has wrap make each group's write durable: it is given the fsync
// the spool would do, to call (or hold) as it likes. Call it before the
// first Record.
func WrapSync(s *Spool, wrap func(sync func() error) error) {
	s.fsync = func(f *os.File, inPlace bool) error {
		return wrap(func() error { return syncWritten(f, inPlace) })
	}
}
