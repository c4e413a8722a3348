package lyumen_test

import (
	"testing"
	"time"

	"github.com/lyumen/lyumen"
)

// TestPurge_Check: a purge by a time up to now is taken; one by a time
// later than now, by however little, is refused (a store would refuse the
// records received until then).
func TestPurge_Check(t *testing.T) {
	now := time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		p    lyumen.Purge
		ok   bool
	}{
		{"by id only", lyumen.Purge{IDs: []string{"01970000-0000-7000-8000-000000000001"}}, true},
		{"a year ago", lyumen.Purge{Before: now.AddDate(-1, 0, 0)}, true},
		{"now", lyumen.Purge{Before: now}, true},
		{"now, in another zone", lyumen.Purge{Before: now.In(time.FixedZone("UTC+2", 2*3600))}, true},
		{"a nanosecond to come", lyumen.Purge{Before: now.Add(time.Nanosecond)}, false},
		{"a second to come", lyumen.Purge{Before: now.Add(time.Second)}, false},
		{"a day to come", lyumen.Purge{Before: now.AddDate(0, 0, 1)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.p.Check(now); (err == nil) != tc.ok {
				t.Errorf("Check = %v, want ok %v", err, tc.ok)
			}
		})
	}
}
