package bench

import (
	"math"
	"runtime/metrics"
	"slices"
	"time"
)

// slowStop is when a stop of the world for the GC counts as slow: a
// request that comes meanwhile waits as long.
const slowStop = time.Millisecond

// gcStopping reads the runtime's histogram of how long stopping the world
// for the GC took: the time from asking every P to stop to all having
// stopped. A P whose thread the kernel keeps off the CPU stops late.
func gcStopping() *metrics.Float64Histogram {
	s := []metrics.Sample{{Name: "/sched/pauses/stopping/gc:seconds"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64Histogram {
		return nil
	}
	h := s[0].Value.Float64Histogram()
	return &metrics.Float64Histogram{Counts: slices.Clone(h.Counts), Buckets: h.Buckets}
}

// addStops counts in r the GC's stops between two readings: the slow ones
// and the longest (the upper bound of its bucket).
func (r *Result) addStops(before, after *metrics.Float64Histogram) {
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
		if d := time.Duration(hi * float64(time.Second)); d > r.GCStopMax {
			r.GCStopMax = d
		}
		if time.Duration(lo*float64(time.Second)) >= slowStop {
			r.GCSlowStops += int(n - before.Counts[i])
		}
	}
}
