package bench

import (
	"math"
	"runtime/metrics"
	"slices"
	"time"
)

// slowPause is when a stop of the world for the GC counts as slow: a
// request that comes meanwhile waits as long. The histogram's buckets are
// about a quarter wide, so "slow" starts at about 1.05 ms.
const slowPause = time.Millisecond

// gcPauses reads the runtime's histogram of how long the world stood
// still for the GC, from asking every P to stop until all run again. A P
// whose thread the kernel keeps off the CPU stops late, and work the GC
// does while the world stands still takes longer on such a thread.
func gcPauses() *metrics.Float64Histogram {
	s := []metrics.Sample{{Name: "/sched/pauses/total/gc:seconds"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64Histogram {
		return nil
	}
	h := s[0].Value.Float64Histogram()
	return &metrics.Float64Histogram{Counts: slices.Clone(h.Counts), Buckets: h.Buckets}
}

// addPauses counts in r the GC's pauses between two readings: the slow
// ones and the longest (the upper bound of its bucket).
func (r *Result) addPauses(before, after *metrics.Float64Histogram) {
	if before == nil || after == nil {
		return
	}
	for i, n := range after.Counts {
		if n == before.Counts[i] {
			continue
		}
		lo, hi := after.Buckets[i], after.Buckets[i+1]
		if math.IsInf(hi, 1) {
			hi = lo
		}
		if d := time.Duration(hi * float64(time.Second)); d > r.GCPauseMax {
			r.GCPauseMax = d
		}
		if time.Duration(lo*float64(time.Second)) >= slowPause {
			r.GCSlowPauses += int(n - before.Counts[i])
		}
	}
}
