package bench_test

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime/metrics"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lyumen/lyumen/bench"
)

var (
	clients = flag.Int("clients", 64, "BenchmarkGateway: concurrent clients; BenchmarkGatewayLatency: most requests in flight")
	rate    = flag.Float64("rate", 500, "BenchmarkGatewayLatency: arrivals per second")
	delay   = flag.Duration("delay", 0, "the mock's delay before its answer and between streamed events")
	// Distinct questions are what a store meets in production: every
	// record brings content it has not seen.
	distinct = flag.Bool("distinct", false, "BenchmarkGateway: give every request its own question")
	normal   = flag.Bool("normal-priority", false, "ship at the usual CPU priority (spool.ship_priority: normal), not production's low")
)

var modes = []struct {
	name   string
	stream bool
}{
	{"nonstream", false},
	{"stream", true},
}

// startTargets starts the targets. At cleanup it stops them and checks
// that the store holds one record per request sent to Lyumen.
func startTargets(tb testing.TB) *bench.Targets {
	tb.Helper()
	mock := bench.NewMock()
	mock.Delay = *delay
	tg, err := bench.StartTargets(tb.Context(), tb.TempDir(), mock, bench.Options{NormalPriority: *normal})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		rec, err := tg.Stop(context.Background()) // tb.Context is done by now
		if err != nil {
			tb.Fatal(err)
		}
		if rec.Stored != rec.Sent {
			tb.Errorf("store holds %d records, want one per request sent to Lyumen: %d", rec.Stored, rec.Sent)
		}
	})
	return tg
}

// TestHarness runs every target in both modes, closed and open, for a
// moment with a few clients; startTargets checks the gateway recorded each
// of its requests.
func TestHarness(t *testing.T) {
	tg := startTargets(t)
	hc := bench.NewClient(4)
	for _, m := range modes {
		for _, target := range tg.All() {
			for _, rate := range []float64{0, 200} {
				res := tg.Run(t.Context(), hc, target, bench.Load{
					Clients: 4, Duration: 150 * time.Millisecond, Requests: 10_000, Stream: m.stream, Rate: rate,
				})
				if res.Errors > 0 || res.Requests == 0 {
					t.Errorf("%s/%s at rate %v: %d requests, %d errors; first: %v", m.name, target.Name, rate, res.Requests, res.Errors, res.Err)
				}
				recorded := target.Name == bench.NameLyumen
				if want := res.Requests; !recorded && len(res.Record)+len(res.Sync) > 0 || recorded && (len(res.Record) != want || len(res.Sync) == 0) {
					t.Errorf("%s/%s at rate %v: %d Record and %d Sync times for %d requests", m.name, target.Name, rate, len(res.Record), len(res.Sync), res.Requests)
				}
			}
		}
	}
}

func TestResult_Busy(t *testing.T) {
	for _, tc := range []struct {
		name         string
		cpu, elapsed time.Duration
		ncpu         int
		want         float64
	}{
		{"both CPUs all the time", 2 * time.Second, time.Second, 2, 1},
		{"one of two", time.Second, time.Second, 2, 0.5},
		{"a quarter of one", 250 * time.Millisecond, time.Second, 1, 0.25},
		{"nothing measured", time.Second, 0, 2, 0},
	} {
		r := bench.Result{CPU: tc.cpu, Elapsed: tc.elapsed}
		if got := r.Busy(tc.ncpu); got != tc.want {
			t.Errorf("%s: Busy(%d) = %v, want %v", tc.name, tc.ncpu, got, tc.want)
		}
	}
}

func TestRun_Open(t *testing.T) {
	t.Run("arrivals are paced and bounded", func(t *testing.T) {
		srv := httptest.NewServer(bench.NewMock())
		defer srv.Close()
		res := bench.Run(t.Context(), bench.NewClient(4), bench.Load{
			URL: srv.URL, Clients: 4, Duration: 100 * time.Millisecond, Requests: 1000, Rate: 1000,
		})
		// Arrivals at 0, 1, …, 99 ms: the 100th is due at the end.
		if got := res.Requests + res.Missed; got != 100 {
			t.Errorf("%d arrivals, want 100", got)
		}
		if res.Elapsed < 99*time.Millisecond {
			t.Errorf("elapsed %v, want at least 99ms for 100 arrivals at 1000/s", res.Elapsed)
		}
		if res.Errors > 0 {
			t.Errorf("%d errors; first: %v", res.Errors, res.Err)
		}

		res = bench.Run(t.Context(), bench.NewClient(4), bench.Load{
			URL: srv.URL, Clients: 4, Duration: time.Minute, Requests: 10, Rate: 1000,
		})
		if got := res.Requests + res.Missed; got != 10 {
			t.Errorf("%d arrivals, want Requests: 10", got)
		}
	})
	t.Run("arrivals that find every client busy are missed", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(20 * time.Millisecond)
			w.Write([]byte("{}"))
		}))
		defer srv.Close()
		res := bench.Run(t.Context(), bench.NewClient(1), bench.Load{
			URL: srv.URL, Clients: 1, Duration: 100 * time.Millisecond, Requests: 1000, Rate: 1000,
		})
		// One client busy 20 ms per request can take at most 5 or 6 of
		// the 100 arrivals.
		if res.Requests+res.Missed != 100 || res.Requests > 10 || res.Requests == 0 {
			t.Errorf("%d sent and %d missed, want about 5 sent of 100", res.Requests, res.Missed)
		}
	})
}

// TestRun_Questions checks that two loads sharing a question counter send
// valid chat requests, no two alike, and that ordinary loads send
// RequestBody every time.
func TestRun_Questions(t *testing.T) {
	for _, distinct := range []bool{false, true} {
		var mu sync.Mutex
		bodies := map[string]int{}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			bodies[string(b)]++
			mu.Unlock()
			w.Write([]byte("{}"))
		}))
		var questions *atomic.Uint64
		if distinct {
			questions = new(atomic.Uint64)
		}
		for range 2 {
			res := bench.Run(t.Context(), bench.NewClient(3), bench.Load{
				URL: srv.URL, Clients: 3, Duration: time.Minute, Requests: 15, Questions: questions,
			})
			if res.Requests != 15 || res.Errors > 0 {
				t.Fatalf("distinct=%v: %d requests, %d errors; first: %v", distinct, res.Requests, res.Errors, res.Err)
			}
		}
		srv.Close()
		for b := range bodies {
			var req struct{ Messages []struct{ Content string } }
			if err := json.Unmarshal([]byte(b), &req); err != nil || len(req.Messages) != 2 {
				t.Errorf("distinct=%v: not a chat request (%v): %s", distinct, err, b)
			}
		}
		if want := map[bool]int{false: 1, true: 30}[distinct]; len(bodies) != want {
			t.Errorf("distinct=%v: %d different bodies in two loads of 15 requests, want %d", distinct, len(bodies), want)
		}
		if _, ok := bodies[string(bench.RequestBody(false))]; !distinct && !ok {
			t.Errorf("the ordinary load did not send RequestBody")
		}
	}
}

// BenchmarkGateway measures the throughput of the bare proxy and Lyumen,
// with recording off and on, with -clients concurrent clients sending b.N
// requests in all, back to back. At 64 clients the machine saturates, so
// latency here is queueing: BenchmarkGatewayLatency measures latency. The
// ratios that matter, from interleaved rounds, are what cmd/gatewaybench
// reports. B/op and allocs/op cover the whole process: clients and mock
// as well.
func BenchmarkGateway(b *testing.B) {
	tg := startTargets(b)
	hc := bench.NewClient(*clients)
	var questions *atomic.Uint64
	if *distinct {
		questions = new(atomic.Uint64)
	}
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			for _, target := range proxies(tg) {
				b.Run(target.Name, func(b *testing.B) {
					b.ReportAllocs()
					res := tg.Run(b.Context(), hc, target, bench.Load{
						Clients: *clients, Duration: 10 * time.Minute, Requests: b.N, Stream: m.stream, Questions: questions,
					})
					b.StopTimer()
					checkDone(b, target, res, b.N)
					b.ReportMetric(res.Rate(), "req/s")
					b.ReportMetric(us(res.CPUPerRequest()), "cpu_us/req")
				})
			}
		})
	}
}

// BenchmarkGatewayLatency measures the latency of the bare proxy and
// Lyumen, with recording off and on, at a fixed -rate of arrivals (b.N in
// all), with up to -clients in flight. ns/op is therefore about 1/rate and
// means nothing; the percentiles do. Within each benchmark the mock is
// first measured directly, untimed, with the same load, so the latency a
// target adds is taken against a baseline from the same moment.
func BenchmarkGatewayLatency(b *testing.B) {
	tg := startTargets(b)
	hc := bench.NewClient(*clients)
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			for _, target := range proxies(tg) {
				b.Run(target.Name, func(b *testing.B) {
					b.ReportAllocs()
					l := bench.Load{
						Clients: *clients, Duration: 10 * time.Minute, Requests: b.N, Stream: m.stream, Rate: *rate,
					}
					b.StopTimer()
					direct := tg.Run(b.Context(), hc, tg.Direct, l)
					checkDone(b, tg.Direct, direct, b.N)
					b.StartTimer()
					before := schedWaits()
					res := tg.Run(b.Context(), hc, target, l)
					waits := schedWaits().since(before)
					b.StopTimer()
					checkDone(b, target, res, b.N)
					b.ReportMetric(1000*float64(waits.over(time.Millisecond))/float64(res.Requests), "sched_waits_over_1ms/1k_req")
					b.ReportMetric(float64(res.Missed), "missed")
					b.ReportMetric(us(res.Percentile(0.50)), "p50_us")
					b.ReportMetric(us(res.Percentile(0.99)), "p99_us")
					b.ReportMetric(us(res.Percentile(0.50)-direct.Percentile(0.50)), "added_p50_us")
					b.ReportMetric(us(res.Percentile(0.99)-direct.Percentile(0.99)), "added_p99_us")
				})
			}
		})
	}
}

// schedHist is the runtime's histogram of how long goroutines waited,
// runnable, for a CPU: the whole process's, clients and mock included.
type schedHist struct {
	counts  []uint64
	buckets []float64 // seconds; len(counts)+1 boundaries
}

// schedWaits reads the histogram so far.
func schedWaits() schedHist {
	s := []metrics.Sample{{Name: "/sched/latencies:seconds"}}
	metrics.Read(s)
	h := s[0].Value.Float64Histogram()
	return schedHist{slices.Clone(h.Counts), h.Buckets}
}

// since is h less the waits of an earlier reading.
func (h schedHist) since(earlier schedHist) schedHist {
	d := schedHist{slices.Clone(h.counts), h.buckets}
	for i := range d.counts {
		d.counts[i] -= earlier.counts[i]
	}
	return d
}

// over counts the waits that lasted d or more (to the histogram's bucket).
func (h schedHist) over(d time.Duration) uint64 {
	var n uint64
	for i, c := range h.counts {
		if h.buckets[i] >= d.Seconds() {
			n += c
		}
	}
	return n
}

// proxies are the targets in front of the mock.
func proxies(tg *bench.Targets) []bench.Target {
	return []bench.Target{tg.Bare, tg.LyumenNoRec, tg.Lyumen}
}

// checkDone fails b unless all n requests were sent or missed, without an
// error.
func checkDone(b *testing.B, target bench.Target, res bench.Result, n int) {
	b.Helper()
	if res.Errors > 0 || res.Requests+res.Missed < n {
		b.Errorf("%s: %d of %d requests done, %d missed, %d errors; first: %v",
			target.Name, res.Requests, n, res.Missed, res.Errors, res.Err)
	}
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
