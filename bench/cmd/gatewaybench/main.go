// Command gatewaybench measures what Lyumen costs against a bare reverse
// proxy: the mock upstream directly, a bare httputil.ReverseProxy and Lyumen
// (recording to SQLite) take turns in interleaved rounds, so machine noise
// falls on all three alike, for non-streamed and streamed completions. It
// prints a markdown table and checks the acceptance targets.
//
//	go run ./bench/cmd/gatewaybench -c 64 -d 10s
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/lyumen/lyumen/bench"
)

// minRatio is the acceptance target: Lyumen's throughput over the bare
// proxy's.
const minRatio = 0.90

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gatewaybench:", err)
		os.Exit(1)
	}
}

type target struct {
	name string
	url  string
}

// measured is one target's results in one mode, over all rounds.
type measured struct {
	total  bench.Result
	rounds []bench.Result
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gatewaybench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	clients := fs.Int("c", 64, "concurrent clients")
	dur := fs.Duration("d", 10*time.Second, "measured time per target and mode, split over the rounds")
	rounds := fs.Int("rounds", 3, "interleaved rounds")
	warmup := fs.Duration("warmup", time.Second, "unmeasured load per target and mode before the rounds")
	maxRequests := fs.Int("n", 10_000_000, "most requests in one measurement")
	modes := fs.String("modes", "nonstream,stream", "comma-separated modes to measure: nonstream, stream")
	delay := fs.Duration("delay", 0, "the mock's delay before its answer and between streamed events")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the measured rounds to `file`; the gateway's goroutines carry the label target=lyumen")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *clients < 1 || *rounds < 1 || *dur <= 0 || *maxRequests < 1 {
		return errors.New("-c, -rounds, -d and -n must be positive")
	}
	round := (*dur / time.Duration(*rounds)).Round(time.Millisecond)
	var streams []bool
	for m := range strings.SplitSeq(*modes, ",") {
		switch m {
		case "nonstream":
			streams = append(streams, false)
		case "stream":
			streams = append(streams, true)
		default:
			return fmt.Errorf("-modes: unknown mode %q", m)
		}
	}

	dir, err := os.MkdirTemp("", "gatewaybench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	mock := bench.NewMock()
	mock.Delay = *delay
	tg, err := bench.StartTargets(ctx, dir, mock)
	if err != nil {
		return err
	}
	hc := bench.NewClient(*clients)
	targets := []target{{"direct", tg.Direct}, {"bare", tg.Bare}, {"lyumen", tg.Lyumen}}

	fmt.Fprintf(stdout, "# Lyumen gateway benchmark\n\n")
	fmt.Fprintf(stdout, "- command: `go run ./bench/cmd/gatewaybench %s`\n", strings.Join(args, " "))
	fmt.Fprintf(stdout, "- date: %s\n", time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(stdout, "- machine: %s/%s, %d CPUs (GOMAXPROCS %d), %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version())
	fmt.Fprintf(stdout, "- load: %d keep-alive clients; per target and mode %v of warm-up, then %d interleaved rounds of %v\n",
		*clients, *warmup, *rounds, round)
	fmt.Fprintf(stdout, "- mock upstream: %d content chunks per stream, delay %v; all servers and clients in this one process\n", bench.MockChunks, *delay)

	var sent int // requests sent to Lyumen, each of which must be recorded
	var failures []string
	profiling := false
	for _, stream := range streams {
		mode := "nonstream"
		if stream {
			mode = "stream"
		}
		load := func(t target, d time.Duration) bench.Result {
			res := bench.Run(ctx, hc, bench.Load{URL: t.url, Clients: *clients, Duration: d, Requests: *maxRequests, Stream: stream})
			if t.name == "lyumen" {
				sent += res.Requests
			}
			return res
		}
		if *warmup > 0 {
			for _, t := range targets {
				load(t, *warmup)
			}
		}
		if *cpuprofile != "" && !profiling { // from the first measured round on
			stopProfile, err := startProfile(*cpuprofile)
			if err != nil {
				return err
			}
			defer stopProfile()
			profiling = true
			fmt.Fprintf(stderr, "profiling; the gateway's share: go tool pprof -tagfocus target=lyumen -top %s\n", *cpuprofile)
		}
		results := make(map[string]*measured, len(targets))
		for _, t := range targets {
			results[t.name] = &measured{}
		}
		for r := range *rounds {
			for i := range targets {
				t := targets[(i+r)%len(targets)] // each target takes each place in turn
				res := load(t, round)
				m := results[t.name]
				m.rounds = append(m.rounds, res)
				m.total.Merge(res)
				fmt.Fprintf(stderr, "%s round %d/%d %-6s %8.0f req/s  p50 %s  p99 %s  errors %d\n",
					mode, r+1, *rounds, t.name, res.Rate(), ms(res.Percentile(0.5)), ms(res.Percentile(0.99)), res.Errors)
				if ctx.Err() != nil {
					return ctx.Err()
				}
			}
		}
		failures = append(failures, report(stdout, mode, results)...)
	}

	records, err := tg.Stop(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n## Recording\n\nSQLite store: %d records for %d requests sent to Lyumen (warm-up included)", records, sent)
	if records != int64(sent) {
		fmt.Fprintf(stdout, ": FAIL\n")
		failures = append(failures, fmt.Sprintf("%d records stored for %d requests", records, sent))
	} else {
		fmt.Fprintf(stdout, ": OK, one record per request\n")
	}
	if len(failures) > 0 {
		return fmt.Errorf("targets not met:\n  %s", strings.Join(failures, "\n  "))
	}
	return nil
}

// report prints one mode's table and checks, and returns what failed.
func report(w io.Writer, mode string, results map[string]*measured) (failures []string) {
	var warnings []string
	direct, bare, gw := &results["direct"].total, &results["bare"].total, &results["lyumen"].total
	fmt.Fprintf(w, "\n## %s\n\n", mode)
	fmt.Fprintf(w, "| target | req/s | p50 | p99 | added p50 vs direct | added p99 vs direct | throughput vs bare | CPU/req | added CPU/req | errors |\n")
	fmt.Fprintf(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, name := range []string{"direct", "bare", "lyumen"} {
		m := results[name]
		r := &m.total
		added50, added99, ratio, addedCPU := "", "", "", ""
		if name != "direct" {
			added50 = signed(r.Percentile(0.5) - direct.Percentile(0.5))
			added99 = signed(r.Percentile(0.99) - direct.Percentile(0.99))
			ratio = fmt.Sprintf("%.3f", r.Rate()/bare.Rate())
			addedCPU = fmt.Sprintf("%+d µs", (r.CPUPerRequest() - direct.CPUPerRequest()).Microseconds())
		}
		if name == "lyumen" {
			med, lo, hi := roundRatios(m.rounds, results["bare"].rounds)
			ratio += fmt.Sprintf(" (rounds: median %.3f, %.3f–%.3f)", med, lo, hi)
		}
		fmt.Fprintf(w, "| %s | %.0f | %s | %s | %s | %s | %s | %d µs | %s | %d |\n",
			name, r.Rate(), ms(r.Percentile(0.5)), ms(r.Percentile(0.99)), added50, added99, ratio,
			r.CPUPerRequest().Microseconds(), addedCPU, r.Errors)
		switch {
		case r.Errors > 0 && name == "lyumen":
			failures = append(failures, fmt.Sprintf("%s %s: %d errors; first: %v", mode, name, r.Errors, r.Err))
		case r.Errors > 0:
			warnings = append(warnings, fmt.Sprintf("baseline %s had %d errors; first: %v", name, r.Errors, r.Err))
		}
	}

	// Checked on the median of the rounds' ratios: each round measures bare
	// and Lyumen close together in time, and one round's burst of noise from
	// elsewhere on the machine does not move the median.
	ratio, _, _ := roundRatios(results["lyumen"].rounds, results["bare"].rounds)
	verdict := "PASS"
	if ratio < minRatio {
		verdict = "FAIL"
		failures = append(failures, fmt.Sprintf("%s: Lyumen throughput %.1f%% of bare, below %.0f%%", mode, 100*ratio, 100*minRatio))
	}
	bare99 := bare.Percentile(0.99) - direct.Percentile(0.99)
	gw99 := gw.Percentile(0.99) - direct.Percentile(0.99)
	fmt.Fprintf(w, "\n- throughput: Lyumen %.1f%% of bare, median of the rounds (target ≥ %.0f%%): %s\n", 100*ratio, 100*minRatio, verdict)
	fmt.Fprintf(w, "- added p99 vs direct: bare %s, Lyumen %s (Lyumen − bare: %s)\n", signed(bare99), signed(gw99), signed(gw99-bare99))
	bareCPU := bare.CPUPerRequest() - direct.CPUPerRequest()
	gwCPU := gw.CPUPerRequest() - direct.CPUPerRequest()
	fmt.Fprintf(w, "- added CPU per request (process CPU/req minus direct's; steadier than req/s on a busy machine): bare %d µs, Lyumen %d µs (×%.2f)\n",
		bareCPU.Microseconds(), gwCPU.Microseconds(), float64(gwCPU)/float64(bareCPU))
	for _, warning := range warnings {
		fmt.Fprintf(w, "- warning: %s\n", warning)
	}
	return failures
}

// roundRatios returns the median, lowest and highest of the throughput
// ratios of a to b, round by round.
func roundRatios(a, b []bench.Result) (median, lo, hi float64) {
	r := make([]float64, len(a))
	for i := range a {
		r[i] = a[i].Rate() / b[i].Rate()
	}
	slices.Sort(r)
	n := len(r)
	median = r[n/2]
	if n%2 == 0 {
		median = (r[n/2-1] + r[n/2]) / 2
	}
	return median, r[0], r[n-1]
}

func startProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func signed(d time.Duration) string {
	return fmt.Sprintf("%+.2f ms", float64(d)/float64(time.Millisecond))
}
