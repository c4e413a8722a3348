package bench_test

import (
	"flag"
	"testing"
	"time"

	"github.com/lyumen/lyumen/bench"
)

var clients = flag.Int("clients", 64, "concurrent clients in BenchmarkGateway")

var modes = []struct {
	name   string
	stream bool
}{
	{"nonstream", false},
	{"stream", true},
}

func startTargets(tb testing.TB) *bench.Targets {
	tb.Helper()
	tg, err := bench.StartTargets(tb.Context(), tb.TempDir(), bench.NewMock())
	if err != nil {
		tb.Fatal(err)
	}
	return tg
}

// TestHarness runs every target in both modes for a moment with a few
// clients, and checks the gateway recorded each of its requests.
func TestHarness(t *testing.T) {
	tg := startTargets(t)
	hc := bench.NewClient(4)
	var sent int
	for _, m := range modes {
		for _, target := range []struct{ name, url string }{
			{"direct", tg.Direct}, {"bare", tg.Bare}, {"lyumen", tg.Lyumen},
		} {
			res := bench.Run(t.Context(), hc, bench.Load{
				URL: target.url, Clients: 4, Duration: 150 * time.Millisecond, Requests: 10_000, Stream: m.stream,
			})
			if target.name == "lyumen" {
				sent += res.Requests
			}
			if res.Errors > 0 || res.Requests == 0 {
				t.Errorf("%s/%s: %d requests, %d errors; first: %v", m.name, target.name, res.Requests, res.Errors, res.Err)
			}
		}
	}
	records, err := tg.Stop(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if records != int64(sent) {
		t.Errorf("store holds %d records, want one per gateway request: %d", records, sent)
	}
}

// BenchmarkGateway measures the bare proxy and Lyumen with -clients
// concurrent clients sending b.N requests in all. Within each benchmark the
// mock is first measured directly, untimed, with the same load, so the
// latency a target adds is taken against a baseline from the same moment.
// The throughput ratio of Lyumen to the bare proxy, from interleaved rounds,
// is what cmd/gatewaybench reports.
func BenchmarkGateway(b *testing.B) {
	tg := startTargets(b)
	hc := bench.NewClient(*clients)
	var sent int
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			for _, target := range []struct{ name, url string }{{"bare", tg.Bare}, {"lyumen", tg.Lyumen}} {
				b.Run(target.name, func(b *testing.B) {
					b.ReportAllocs()
					load := func(url string) bench.Result {
						res := bench.Run(b.Context(), hc, bench.Load{
							URL: url, Clients: *clients, Duration: 10 * time.Minute, Requests: b.N, Stream: m.stream,
						})
						if res.Errors > 0 || res.Requests < b.N {
							b.Errorf("%s: %d of %d requests done, %d errors; first: %v", url, res.Requests, b.N, res.Errors, res.Err)
						}
						return res
					}
					b.StopTimer()
					direct := load(tg.Direct)
					b.StartTimer()
					res := load(target.url)
					b.StopTimer()
					if target.name == "lyumen" {
						sent += res.Requests
					}
					us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
					b.ReportMetric(res.Rate(), "req/s")
					b.ReportMetric(us(res.Percentile(0.50)), "p50_us")
					b.ReportMetric(us(res.Percentile(0.99)), "p99_us")
					b.ReportMetric(us(res.Percentile(0.50)-direct.Percentile(0.50)), "added_p50_us")
					b.ReportMetric(us(res.Percentile(0.99)-direct.Percentile(0.99)), "added_p99_us")
				})
			}
		})
	}
	records, err := tg.Stop(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	if records != int64(sent) {
		b.Errorf("store holds %d records, want one per gateway request: %d", records, sent)
	}
}
