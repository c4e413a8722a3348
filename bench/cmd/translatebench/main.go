// Command translatebench measures what translating between API formats
// costs (issue 4): the gateway's paths from a client surface to an
// upstream, each a gateway with recording off in front of a mock upstream
// of its wire format, take turns in interleaved closed-loop rounds, so
// machine noise falls on all alike, for non-streamed and streamed answers.
//
// Each translated path's throughput is compared, round by round, with its
// pass-through baseline (see bench.Translation for the pairing):
//
//   - anthropic-openai, responses-openai and openai-gemini with openai-openai;
//   - openai-anthropic with anthropic-anthropic.
//
// The target: every translated path serves at least 90% of its baseline's
// throughput (the median of the per-round ratios). The runner prints
// markdown tables and the verdicts.
//
// Usage:
//
//	go run ./bench/cmd/translatebench -c 64 -d 10s
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lyumen/lyumen/bench"
)

// minRatio is the least throughput a translated path may have, over its
// baseline's.
const minRatio = 0.90

// errMissed reports that the run finished but some target was not met.
var errMissed = errors.New("targets not met")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "translatebench:", err)
		os.Exit(1)
	}
}

// config is the runner's flags.
type config struct {
	clients     int
	dur         time.Duration
	rounds      int
	round       time.Duration // each
	warmup      time.Duration
	maxRequests int
	streams     []bool
	delay       time.Duration
	mocks       bool
	cpuprofile  string
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("translatebench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.clients, "c", 64, "concurrent clients, each sending back to back")
	fs.DurationVar(&c.dur, "d", 10*time.Second, "measured time per path and mode, split over the rounds")
	fs.IntVar(&c.rounds, "rounds", 5, "interleaved rounds; the order rotates so every path takes every place")
	fs.DurationVar(&c.warmup, "warmup", time.Second, "unmeasured load per path and mode before the rounds")
	fs.IntVar(&c.maxRequests, "n", 10_000_000, "most requests in one measurement")
	modes := fs.String("modes", "nonstream,stream", "comma-separated modes to measure: nonstream, stream")
	fs.DurationVar(&c.delay, "delay", 0, "the mocks' delay before their answer and between streamed events")
	fs.BoolVar(&c.mocks, "mocks", true, "measure the three mock upstreams directly too, in the same rounds, to tell their cost from the gateway's")
	fs.StringVar(&c.cpuprofile, "cpuprofile", "", "write a CPU profile of the measured rounds to `file`; goroutines carry the label target=<path>")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.clients < 1 || c.rounds < 1 || c.dur <= 0 || c.maxRequests < 1 {
		return c, errors.New("-c, -rounds, -d and -n must be positive")
	}
	c.round = (c.dur / time.Duration(c.rounds)).Round(time.Millisecond)
	for m := range strings.SplitSeq(*modes, ",") {
		switch m {
		case "nonstream":
			c.streams = append(c.streams, false)
		case "stream":
			c.streams = append(c.streams, true)
		default:
			return c, fmt.Errorf("-modes: unknown mode %q", m)
		}
	}
	return c, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	oai, ant, gem := bench.NewMock(), bench.NewAnthropicMock(), bench.NewGeminiMock()
	oai.Delay, ant.Delay, gem.Delay = cfg.delay, cfg.delay, cfg.delay
	tr := bench.StartTranslation(oai, ant, gem)
	defer tr.Close()
	targets := tr.Paths
	if cfg.mocks {
		targets = append(slices.Clip(targets), tr.Mocks...)
	}
	r := &runner{cfg: cfg, hc: bench.NewClient(cfg.clients), stderr: stderr}
	r.loads.Sample()

	fmt.Fprintf(stdout, "- command: `go run ./bench/cmd/translatebench %s`\n", strings.Join(args, " "))
	fmt.Fprintf(stdout, "- date: %s\n", time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(stdout, "- machine: %s/%s, %d CPUs (GOMAXPROCS %d), %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version())
	fmt.Fprintf(stdout, "- per path and mode: %v of warm-up, then %d interleaved closed-loop rounds of %v with %d clients\n",
		cfg.warmup, cfg.rounds, cfg.round, cfg.clients)
	fmt.Fprintf(stdout, "- every gateway with recording off (as lyumen-norec); mocks: %d content chunks per stream, delay %v; all servers and clients in this one process\n",
		bench.MockChunks, cfg.delay)

	var failures []string
	for _, stream := range cfg.streams {
		mode := "nonstream"
		if stream {
			mode = "stream"
		}
		if cfg.warmup > 0 {
			for _, p := range targets {
				r.load(ctx, p, bench.Load{Duration: cfg.warmup, Stream: stream})
			}
		}
		if cfg.cpuprofile != "" && r.stopProfile == nil { // from the first measured round on
			if r.stopProfile, err = startProfile(cfg.cpuprofile); err != nil {
				return err
			}
			defer r.stopProfile()
			fmt.Fprintf(stderr, "profiling; one path's share: go tool pprof -tagfocus 'target=^anthropic-openai$' -top %s\n", cfg.cpuprofile)
		}
		res, err := r.rounds(ctx, mode, targets, stream)
		if err != nil {
			return err
		}
		failures = append(failures, report(stdout, mode, cfg, tr, res)...)
	}
	if r.stopProfile != nil {
		r.stopProfile()
	}
	r.loads.Sample()
	if lo, hi, ok := r.loads.Range(); ok {
		fmt.Fprintf(stdout, "\n- machine load average (1 min), sampled after each round: %.2f–%.2f\n", lo, hi)
	}
	if len(failures) > 0 {
		return fmt.Errorf("%w:\n  %s", errMissed, strings.Join(failures, "\n  "))
	}
	return nil
}

// runner applies the loads and keeps what the whole run needs.
type runner struct {
	cfg         config
	hc          *http.Client
	stderr      io.Writer
	loads       bench.LoadAverages
	stopProfile func()
}

// load applies l, completed with the run's bounds, to p.
func (r *runner) load(ctx context.Context, p bench.Path, l bench.Load) bench.Result {
	l.Clients, l.Requests = r.cfg.clients, r.cfg.maxRequests
	return bench.RunPath(ctx, r.hc, p, l)
}

// rounds measures every target in the run's interleaved rounds, each
// target taking each place in the order in turn.
func (r *runner) rounds(ctx context.Context, mode string, targets []bench.Path, stream bool) (map[string]*bench.Measured, error) {
	l := bench.Load{Duration: r.cfg.round, Stream: stream}
	n := r.cfg.rounds
	return bench.Interleave(ctx, n, targets, func(p bench.Path) string { return p.Name },
		func(p bench.Path) bench.Result { return r.load(ctx, p, l) },
		func(round int, p bench.Path, res bench.Result) {
			fmt.Fprintf(r.stderr, "%s round %d/%d %-20s %8.0f req/s  cpu %4d µs/req  p50 %s  p99 %s  errors %d\n",
				mode, round+1, n, p.Name, res.Rate(), res.CPUPerRequest().Microseconds(), ms(res.Percentile(0.5)), ms(res.Percentile(0.99)), res.Errors)
		}, &r.loads)
}

// report prints one mode's table and verdicts, and returns what failed.
func report(w io.Writer, mode string, cfg config, tr *bench.Translation, res map[string]*bench.Measured) (failures []string) {
	fail := func(format string, a ...any) { failures = append(failures, mode+": "+fmt.Sprintf(format, a...)) }
	fmt.Fprintf(w, "\n### %s: closed loop, %d clients\n\n", mode, cfg.clients)
	fmt.Fprintf(w, "Ratios are the median of the %d per-round ratios, with their range. CPU/req is the whole process's (clients and mocks included).\n\n", cfg.rounds)
	fmt.Fprintf(w, "\"vs baseline\" is the throughput ratio; \"CPU: baseline's / path's\" the inverse ratio of CPU per request, what the throughput ratio would be on a machine whose CPUs the process had to itself.\n\n")
	fmt.Fprintf(w, "| path (surface-upstream) | req/s | baseline | vs baseline | CPU: baseline's / path's | vs %s | CPU/req | added CPU/req vs baseline | p50 | p99 | errors |\n", bench.PathOpenAIOpenAI)
	fmt.Fprintf(w, "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	oo := res[bench.PathOpenAIOpenAI]
	for _, p := range slices.Concat(tr.Paths, tr.Mocks) {
		m, ok := res[p.Name]
		if !ok {
			continue // the mocks, with -mocks=false
		}
		r := &m.Total
		base, vsBase, cpuBase, vsOO, addedCPU := "", "", "", "", ""
		if p.Translated() {
			b := res[p.Baseline]
			base, vsBase, cpuBase = p.Baseline, ratioCell(m.Rounds, b.Rounds, rate), ratioCell(m.Rounds, b.Rounds, cpuRatio)
			addedCPU = fmt.Sprintf("%+d µs", (r.CPUPerRequest() - b.Total.CPUPerRequest()).Microseconds())
		}
		if p.Name != bench.PathOpenAIOpenAI && !strings.HasPrefix(p.Name, "mock-") {
			vsOO = ratioCell(m.Rounds, oo.Rounds, rate)
		}
		fmt.Fprintf(w, "| %s | %.0f | %s | %s | %s | %s | %d µs | %s | %s | %s | %d |\n",
			p.Name, r.Rate(), base, vsBase, cpuBase, vsOO, r.CPUPerRequest().Microseconds(), addedCPU,
			ms(r.Percentile(0.5)), ms(r.Percentile(0.99)), r.Errors)
		if r.Errors > 0 {
			fail("%s: %d errors; first: %v", p.Name, r.Errors, r.Err)
		}
	}
	fmt.Fprintf(w, "\n")
	for _, p := range tr.Paths {
		if !p.Translated() {
			continue
		}
		ratio, lo, hi := roundStats(res[p.Name].Rounds, res[p.Baseline].Rounds, rate)
		cpu, _, _ := roundStats(res[p.Name].Rounds, res[p.Baseline].Rounds, cpuRatio)
		ok := ratio >= minRatio
		if !ok {
			fail("%s: throughput %.1f%% of %s, below %.0f%%", p.Name, 100*ratio, p.Baseline, 100*minRatio)
		}
		fmt.Fprintf(w, "- %s, %s: throughput %.1f%% of %s (median of %d rounds; %.1f–%.1f%%; by CPU per request %.1f%%), target ≥ %.0f%%: **%s**\n",
			mode, p.Name, 100*ratio, p.Baseline, len(res[p.Name].Rounds), 100*lo, 100*hi, 100*cpu, 100*minRatio, verdict(ok))
	}
	return failures
}

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// ratioCell is the median ratio f of a to b over the rounds, with its
// range.
func ratioCell(a, b []bench.Result, f func(a, b *bench.Result) float64) string {
	med, lo, hi := roundStats(a, b, f)
	return fmt.Sprintf("%.3f (%.3f–%.3f)", med, lo, hi)
}

// rate is a's throughput over b's.
func rate(a, b *bench.Result) float64 { return a.Rate() / b.Rate() }

// cpuRatio is b's CPU per request over a's: a's throughput over b's if both
// were bound by the same CPU.
func cpuRatio(a, b *bench.Result) float64 {
	return float64(b.CPUPerRequest()) / float64(a.CPUPerRequest())
}

// roundStats returns the median, lowest and highest of f(a, b), round by
// round.
func roundStats(a, b []bench.Result, f func(a, b *bench.Result) float64) (median, lo, hi float64) {
	v := make([]float64, len(a))
	for i := range a {
		v[i] = f(&a[i], &b[i])
	}
	slices.Sort(v)
	n := len(v)
	median = v[n/2]
	if n%2 == 0 {
		median = (v[n/2-1] + v[n/2]) / 2
	}
	return median, v[0], v[n-1]
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
	return sync.OnceFunc(func() {
		pprof.StopCPUProfile()
		f.Close()
	}), nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
