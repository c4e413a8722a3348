package bench

import (
	"fmt"
	"os"
	"slices"
)

// LoadAverages are the machine's one-minute load averages, sampled during a
// run: the runners report their range, since every figure on a shared
// machine depends on what else it ran.
type LoadAverages []float64

// Sample notes the load average now, where the system reports it.
func (l *LoadAverages) Sample() {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return
	}
	var v float64
	if _, err := fmt.Sscan(string(b), &v); err == nil {
		*l = append(*l, v)
	}
}

// Range returns the lowest and highest sample; ok is false without any.
func (l LoadAverages) Range() (lo, hi float64, ok bool) {
	if len(l) == 0 {
		return 0, 0, false
	}
	return slices.Min(l), slices.Max(l), true
}
