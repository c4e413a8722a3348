package bench

import (
	"math"
	"runtime/metrics"
	"testing"
	"time"
)

func TestAddPauses(t *testing.T) {
	buckets := []float64{math.Inf(-1), 0, 500e-6, 1e-3, 4e-3, math.Inf(1)}
	h := func(counts ...uint64) *metrics.Float64Histogram {
		return &metrics.Float64Histogram{Counts: counts, Buckets: buckets}
	}
	tests := []struct {
		name          string
		before, after *metrics.Float64Histogram
		slow          int
		longest       time.Duration
	}{
		{"none", h(0, 5, 1, 0, 0), h(0, 5, 1, 0, 0), 0, 0},
		{"fast only", h(0, 5, 1, 0, 0), h(0, 9, 1, 0, 0), 0, 500 * time.Microsecond},
		{"slow", h(0, 5, 1, 0, 0), h(0, 6, 1, 2, 0), 2, 4 * time.Millisecond},
		{"beyond the last bound", h(0, 0, 0, 0, 1), h(0, 0, 0, 1, 3), 3, 4 * time.Millisecond},
		{"no readings", nil, h(0, 1, 0, 0, 0), 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r Result
			r.addPauses(tc.before, tc.after)
			if r.GCSlowPauses != tc.slow || r.GCPauseMax != tc.longest {
				t.Errorf("addPauses: %d slow, longest %v; want %d, %v", r.GCSlowPauses, r.GCPauseMax, tc.slow, tc.longest)
			}
		})
	}
	if gcPauses() == nil {
		t.Error("the runtime has no histogram of its GC's pauses")
	}
}
