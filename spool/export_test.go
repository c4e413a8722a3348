package spool

import "time"

// SetSyncCost sets the running average of a group's write + fsync time, as
// if the spool's disk were that slow. Call it before the first Record.
func SetSyncCost(s *Spool, d time.Duration) { s.syncCost = d }
