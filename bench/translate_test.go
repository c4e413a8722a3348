package bench_test

import (
	"testing"
	"time"

	"github.com/lyumen/lyumen/bench"
)

// startTranslation starts the paths of issue 4, stopped at cleanup.
func startTranslation(tb testing.TB) *bench.Translation {
	tb.Helper()
	tr := bench.StartTranslation(bench.NewMock(), bench.NewAnthropicMock(), bench.NewGeminiMock())
	tb.Cleanup(tr.Close)
	return tr
}

// TestTranslation sends every path and mock a moment of load in both
// modes: each must answer every request with the mock's whole answer in
// its surface's format.
func TestTranslation(t *testing.T) {
	tr := startTranslation(t)
	hc := bench.NewClient(4)
	for _, m := range modes {
		for _, p := range append(tr.Paths, tr.Mocks...) {
			res := bench.RunPath(t.Context(), hc, p, bench.Load{
				Clients: 4, Duration: 50 * time.Millisecond, Requests: 10_000, Stream: m.stream,
			})
			if res.Errors > 0 || res.Requests == 0 {
				t.Errorf("%s/%s: %d requests, %d errors; first: %v", m.name, p.Name, res.Requests, res.Errors, res.Err)
			}
		}
	}
	for _, p := range tr.Paths {
		if _, ok := tr.Path(p.Baseline); p.Translated() && !ok {
			t.Errorf("%s: baseline %q is not a path", p.Name, p.Baseline)
		}
	}
}

// BenchmarkTranslation measures the throughput of each path through the
// gateway, with recording off, with -clients concurrent clients sending b.N
// requests in all, back to back. Compare a translated path with its
// Baseline under benchstat; the ratios that matter, from interleaved
// rounds, are what cmd/translatebench reports. B/op and allocs/op cover the
// whole process: clients and mocks as well.
func BenchmarkTranslation(b *testing.B) {
	tr := startTranslation(b)
	hc := bench.NewClient(*clients)
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			for _, p := range tr.Paths {
				b.Run(p.Name, func(b *testing.B) {
					b.ReportAllocs()
					res := bench.RunPath(b.Context(), hc, p, bench.Load{
						Clients: *clients, Duration: 10 * time.Minute, Requests: b.N, Stream: m.stream,
					})
					b.StopTimer()
					if res.Errors > 0 || res.Requests < b.N {
						b.Errorf("%s: %d of %d requests done, %d errors; first: %v", p.Name, res.Requests, b.N, res.Errors, res.Err)
					}
					b.ReportMetric(res.Rate(), "req/s")
					b.ReportMetric(us(res.CPUPerRequest()), "cpu_us/req")
				})
			}
		})
	}
}
