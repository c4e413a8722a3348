// Command gatewaybench measures what Lyumen costs: the mock upstream
// directly, a bare httputil.ReverseProxy, Lyumen with recording off and
// Lyumen recording through its durable spool into SQLite take turns in
// interleaved rounds, so machine noise falls on all four alike, for
// non-streamed and streamed completions.
//
// Each mode is measured twice. Throughput comes from closed-loop rounds:
// -c clients sending back to back, which saturates the machine. Latency
// comes from open-loop rounds at a fixed rate, by default half of the bare
// proxy's closed-loop throughput in the same run, so that p99 measures what
// each target adds rather than how long requests queue. The runner prints
// markdown tables and checks the acceptance targets:
//
//   - issue 2: Lyumen's throughput is at least 90% of the bare proxy's, and
//     its p99 at the fixed rate at most 1 ms above the bare proxy's;
//   - issue 3: Lyumen's throughput is at least 90% of Lyumen's with
//     recording off, and its p99 at most 2 ms above it.
//
// By default the mock and the clients run in the runner's process, beside
// the servers; with -split they run in a second process, as the upstream
// and the clients of a production gateway do (see split.go).
//
// Usage:
//
//	go run ./bench/cmd/gatewaybench -c 64 -d 10s
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
	"sync/atomic"
	"time"

	"github.com/lyumen/lyumen/bench"
)

// minRatio is the least throughput Lyumen may have, over a baseline's.
const minRatio = 0.90

// goal is one pair of acceptance targets: Lyumen against a baseline.
type goal struct {
	issue  string
	base   string        // the baseline target
	maxP99 time.Duration // the most p99 Lyumen may add over base at the fixed rate
}

var goals = []goal{
	{"issue 2", bench.NameBare, time.Millisecond},
	{"issue 3", bench.NameLyumenNoRec, 2 * time.Millisecond},
}

// errMissed reports that the run finished but some target was not met.
var errMissed = errors.New("targets not met")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if os.Getenv(workerEnv) != "" {
		if err := runWorker(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, "gatewaybench:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gatewaybench:", err)
		os.Exit(1)
	}
}

// config is the runner's flags.
type config struct {
	clients     int
	dur         time.Duration
	rounds      int           // of the throughput phase
	round       time.Duration // each
	latRounds   int           // of the latency phase
	latRound    time.Duration // each
	warmup      time.Duration
	maxRequests int
	streams     []bool
	delay       time.Duration
	rate        float64
	rateFrac    float64
	dir         string
	store       string
	distinct    bool
	batch       int
	commitDelay time.Duration
	split       bool
	cpuprofile  string
	priority    string
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("gatewaybench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.clients, "c", 64, "closed loop: concurrent clients; fixed rate: the most requests in flight")
	fs.DurationVar(&c.dur, "d", 10*time.Second, "measured time per target, mode and phase (throughput, latency), split over the rounds")
	fs.IntVar(&c.rounds, "rounds", 5, "interleaved rounds of the throughput phase")
	fs.IntVar(&c.latRounds, "lat-rounds", 20, "interleaved rounds of the latency phase; short rounds spread bursts of machine noise evenly over the targets")
	fs.DurationVar(&c.warmup, "warmup", time.Second, "unmeasured closed-loop load per target and mode before the rounds")
	fs.IntVar(&c.maxRequests, "n", 10_000_000, "most requests in one measurement")
	modes := fs.String("modes", "nonstream,stream", "comma-separated modes to measure: nonstream, stream")
	fs.DurationVar(&c.delay, "delay", 0, "the mock's delay before its answer and between streamed events")
	fs.Float64Var(&c.rate, "rate", 0, "fixed arrival rate of the latency rounds, requests/s; 0 derives it from -rate-frac")
	fs.Float64Var(&c.rateFrac, "rate-frac", 0.5, "without -rate: the latency rounds' rate as a fraction of the bare proxy's closed-loop throughput in this run (median of its rounds), per mode")
	fs.StringVar(&c.dir, "dir", "", "where the spool and the SQLite store go, in a new directory removed afterwards (default: the system's temp dir); the spool fsyncs, so pick the disk production would use")
	fs.StringVar(&c.store, "store", "sqlite", "where the spool ships: sqlite (production), or discard (a diagnostic: a store that only counts, to tell the spool's cost from the store's)")
	fs.BoolVar(&c.distinct, "distinct", false, "number every request's question, so that the recording gateway stores new content for each (by default all requests are the same, and the store keeps their content once)")
	fs.IntVar(&c.batch, "batch", 0, "the spool's most records per store batch (a diagnostic); 0: production's default")
	fs.DurationVar(&c.commitDelay, "commit-delay", 0, "the spool's wait for more records before a group commit under load (a diagnostic); 0: production's default, negative: none")
	fs.StringVar(&c.priority, "ship-priority", "low", "the CPU priority the spool ships at: low (production's default) or normal (spool.ship_priority: normal)")
	fs.BoolVar(&c.split, "split", false, "run the mock and the clients in a second process, so that the gateway's process holds only the servers, as in production (the processes still share the CPUs)")
	fs.StringVar(&c.cpuprofile, "cpuprofile", "", "write a CPU profile of the measured rounds to `file`; goroutines carry the label target=<name>")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.clients < 1 || c.rounds < 1 || c.latRounds < 1 || c.dur <= 0 || c.maxRequests < 1 || c.rate < 0 || (c.rate == 0 && c.rateFrac <= 0) {
		return c, errors.New("-c, -rounds, -lat-rounds, -d, -n and -rate-frac (or -rate) must be positive")
	}
	if c.priority != "low" && c.priority != "normal" {
		return c, fmt.Errorf("-ship-priority: %q is neither low nor normal", c.priority)
	}
	if c.store != "sqlite" && c.store != "discard" {
		return c, fmt.Errorf("-store: %q is neither sqlite nor discard", c.store)
	}
	c.round = (c.dur / time.Duration(c.rounds)).Round(time.Millisecond)
	c.latRound = (c.dur / time.Duration(c.latRounds)).Round(time.Millisecond)
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

// phase is every target's results in one phase of one mode.
type phase map[string]*bench.Measured

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp(cfg.dir, "gatewaybench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	opts := bench.Options{DiscardStore: cfg.store == "discard", BatchSize: cfg.batch, CommitDelay: cfg.commitDelay,
		NormalPriority: cfg.priority == "normal"}
	var mock *bench.Mock
	where := "all servers and clients in this one process"
	if cfg.split {
		w, err := startWorker(ctx, cfg, stderr)
		if err != nil {
			return err
		}
		defer func() {
			if err := w.stop(); err != nil {
				fmt.Fprintln(stderr, "gatewaybench: load worker:", err)
			}
		}()
		opts.UpstreamURL, opts.Load = w.url, w.load
		where = "the mock and the clients in a second process (-split), the servers in this one"
	} else {
		mock = bench.NewMock()
		mock.Delay = cfg.delay
	}
	tg, err := bench.StartTargets(ctx, dir, mock, opts)
	if err != nil {
		return err
	}
	stopped := false
	defer func() {
		if !stopped {
			tg.Stop(context.WithoutCancel(ctx))
		}
	}()
	r := &runner{cfg: cfg, tg: tg, hc: bench.NewClient(cfg.clients), stderr: stderr}
	r.loads.Sample()

	fmt.Fprintf(stdout, "# Lyumen gateway benchmark\n\n")
	fmt.Fprintf(stdout, "- command: `go run ./bench/cmd/gatewaybench %s`\n", strings.Join(args, " "))
	fmt.Fprintf(stdout, "- date: %s\n", time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(stdout, "- machine: %s/%s, %d CPUs (GOMAXPROCS %d), %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version())
	fmt.Fprintf(stdout, "- per target and mode: %v of closed-loop warm-up; then throughput: %d interleaved closed-loop rounds of %v with %d clients; then latency: %d interleaved rounds of %v at a fixed rate, at most %d in flight\n",
		cfg.warmup, cfg.rounds, cfg.round, cfg.clients, cfg.latRounds, cfg.latRound, cfg.clients)
	fmt.Fprintf(stdout, "- mock upstream: %d content chunks per stream, delay %v; %s\n", bench.MockChunks, cfg.delay, where)
	if cfg.distinct {
		fmt.Fprintf(stdout, "- requests: each asks its own numbered question (-distinct), so every record brings new content\n")
	} else {
		fmt.Fprintf(stdout, "- requests: all the same chat request, whose content the store keeps once\n")
	}
	if cfg.store == "discard" {
		fmt.Fprintf(stdout, "- spool in %s, shipping to a store that only counts (-store discard: a diagnostic, not production)\n", dir)
	} else {
		fmt.Fprintf(stdout, "- spool and SQLite store in %s\n", dir)
	}
	if p50, p99, cpu, err := probeFsync(dir); err == nil {
		fmt.Fprintf(stdout, "- that disk before the run: append 1 KiB + fsync, %d times: p50 %s, p99 %s%s\n", probeSyncs, ms(p50), ms(p99), cpuEach(cpu))
	}

	var failures []string
	var questions *atomic.Uint64 // -distinct: one count for every load of the run
	if cfg.distinct {
		questions = new(atomic.Uint64)
	}
	for _, stream := range cfg.streams {
		mode := "nonstream"
		if stream {
			mode = "stream"
		}
		if cfg.warmup > 0 {
			for _, t := range r.tg.All() {
				r.load(ctx, t, bench.Load{Duration: cfg.warmup, Stream: stream, Questions: questions})
			}
		}
		if cfg.cpuprofile != "" && r.stopProfile == nil { // from the first measured round on
			if r.stopProfile, err = startProfile(cfg.cpuprofile); err != nil {
				return err
			}
			defer r.stopProfile()
			fmt.Fprintf(stderr, "profiling; the gateway's share: go tool pprof -tagfocus 'target=^lyumen$' -top %s\n", cfg.cpuprofile)
		}
		tput, err := r.phase(ctx, mode+" throughput", bench.Load{Stream: stream, Questions: questions}, cfg.rounds, cfg.round)
		if err != nil {
			return err
		}
		rate := cfg.rate
		if rate <= 0 {
			rate = cfg.rateFrac * medianRate(tput[bench.NameBare].Rounds)
		}
		if rate <= 0 {
			return fmt.Errorf("%s: the bare proxy served nothing to derive the fixed rate from", mode)
		}
		lat, err := r.phase(ctx, mode+" latency", bench.Load{Stream: stream, Rate: rate, Questions: questions}, cfg.latRounds, cfg.latRound)
		if err != nil {
			return err
		}
		failures = append(failures, report(stdout, mode, cfg, rate, tput, lat)...)
	}
	if r.stopProfile != nil {
		r.stopProfile() // before the drain, which is not load
	}

	stopped = true
	rec, err := tg.Stop(ctx)
	if err != nil {
		return err
	}
	r.loads.Sample()
	spool := rec.Spool
	fmt.Fprintf(stdout, "\n## Recording\n\n")
	fmt.Fprintf(stdout, "- spool: %d records made durable by %d fsyncs (%.1f records per group commit), %.2f ms per write+fsync on average\n",
		spool.Records, spool.Syncs, float64(spool.Records)/float64(max(spool.Syncs, 1)),
		float64(spool.SyncTime)/float64(max(spool.Syncs, 1))/float64(time.Millisecond))
	fmt.Fprintf(stdout, "- shipped to the store in %d batches (%.1f records each)\n", spool.Batches, float64(spool.Shipped)/float64(max(spool.Batches, 1)))
	fmt.Fprintf(stdout, "- %s store after the spool drained: %d records for %d requests sent to Lyumen (warm-up included)", cfg.store, rec.Stored, rec.Sent)
	if rec.Stored != rec.Sent {
		fmt.Fprintf(stdout, ": FAIL\n")
		failures = append(failures, fmt.Sprintf("%d records stored for %d requests", rec.Stored, rec.Sent))
	} else {
		fmt.Fprintf(stdout, ": OK, one record per request\n")
	}
	if p50, p99, cpu, err := probeFsync(dir); err == nil {
		fmt.Fprintf(stdout, "- the disk after the run: append 1 KiB + fsync, %d times: p50 %s, p99 %s%s\n", probeSyncs, ms(p50), ms(p99), cpuEach(cpu))
	}
	if lo, hi, ok := r.loads.Range(); ok {
		fmt.Fprintf(stdout, "- machine load average (1 min), sampled after each round: %.2f–%.2f\n", lo, hi)
	}
	if len(failures) > 0 {
		return fmt.Errorf("%w:\n  %s", errMissed, strings.Join(failures, "\n  "))
	}
	return nil
}

// runner applies the loads and keeps what the whole run needs.
type runner struct {
	cfg         config
	tg          *bench.Targets
	hc          *http.Client
	stderr      io.Writer
	loads       bench.LoadAverages
	stopProfile func()
}

// load applies l, completed with the run's bounds, to t.
func (r *runner) load(ctx context.Context, t bench.Target, l bench.Load) bench.Result {
	l.Clients, l.Requests = r.cfg.clients, r.cfg.maxRequests
	return r.tg.Run(ctx, r.hc, t, l)
}

// phase measures every target with l in n interleaved rounds of d, each
// target taking each place in the order in turn.
func (r *runner) phase(ctx context.Context, name string, l bench.Load, n int, d time.Duration) (phase, error) {
	l.Duration = d
	targets := r.tg.All()
	return bench.Interleave(ctx, n, targets, func(t bench.Target) string { return t.Name },
		func(t bench.Target) bench.Result { return r.load(ctx, t, l) },
		func(round int, t bench.Target, res bench.Result) {
			fmt.Fprintf(r.stderr, "%s round %d/%d %-12s %8.0f req/s  p50 %s  p99 %s  missed %d  errors %d  drain %s\n",
				name, round+1, n, t.Name, res.Rate(), ms(res.Percentile(0.5)), ms(res.Percentile(0.99)), res.Missed, res.Errors, ms(res.Drain))
		}, &r.loads)
}

// report prints one mode's tables and checks, and returns what failed.
func report(w io.Writer, mode string, cfg config, rate float64, tput, lat phase) (failures []string) {
	var warnings []string
	fail := func(format string, a ...any) { failures = append(failures, mode+": "+fmt.Sprintf(format, a...)) }
	checkErrors := func(p phase, phaseName string) {
		for _, name := range names {
			r := &p[name].Total
			switch {
			case r.Errors == 0:
			case name == bench.NameLyumen || name == bench.NameLyumenNoRec:
				fail("%s %s: %d errors; first: %v", phaseName, name, r.Errors, r.Err)
			default:
				warnings = append(warnings, fmt.Sprintf("%s: baseline %s had %d errors; first: %v", phaseName, name, r.Errors, r.Err))
			}
		}
	}
	fmt.Fprintf(w, "\n## %s\n", mode)

	direct := &tput[bench.NameDirect].Total
	fmt.Fprintf(w, "\n### Throughput: closed loop, %d clients\n\n", cfg.clients)
	fmt.Fprintf(w, "Ratios are the median of the per-round ratios, with their range.\n\n")
	cpus := min(runtime.NumCPU(), runtime.GOMAXPROCS(0)) // a CPU quota lowers GOMAXPROCS, not NumCPU
	fmt.Fprintf(w, "\"CPU busy\": the share of the %d CPUs the runtime may use that the processes used. A target well below the baselines waited more than it worked.\n\n", cpus)
	fmt.Fprintf(w, "| target | req/s | vs bare | vs lyumen-norec | CPU/req | CPU busy | added CPU/req vs direct | p50 | p99 | errors |\n")
	fmt.Fprintf(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, name := range names {
		m := tput[name]
		r := &m.Total
		vsBare, vsNoRec, addedCPU := "", "", ""
		if name != bench.NameDirect {
			addedCPU = fmt.Sprintf("%+d µs", (r.CPUPerRequest() - direct.CPUPerRequest()).Microseconds())
		}
		if name == bench.NameLyumen || name == bench.NameLyumenNoRec {
			vsBare = ratioCell(m.Rounds, tput[bench.NameBare].Rounds)
		}
		if name == bench.NameLyumen {
			vsNoRec = ratioCell(m.Rounds, tput[bench.NameLyumenNoRec].Rounds)
		}
		fmt.Fprintf(w, "| %s | %.0f | %s | %s | %d µs | %.0f%% | %s | %s | %s | %d |\n",
			name, r.Rate(), vsBare, vsNoRec, r.CPUPerRequest().Microseconds(), 100*r.Busy(cpus), addedCPU,
			ms(r.Percentile(0.5)), ms(r.Percentile(0.99)), r.Errors)
	}
	checkErrors(tput, "throughput")
	fmt.Fprintf(w, "\nLyumen's recording: %s\n", spoolLine(&tput[bench.NameLyumen].Total))

	how := fmt.Sprintf("%.2f × bare's closed-loop throughput", cfg.rateFrac)
	if cfg.rate > 0 {
		how = "set with -rate"
	}
	fmt.Fprintf(w, "\n### Latency: open loop at %.0f req/s (%s), at most %d in flight\n\n", rate, how, cfg.clients)
	fmt.Fprintf(w, "Percentiles pool all %d rounds. \"missed\": arrivals that found every client busy and were not sent.\n\n", cfg.latRounds)
	fmt.Fprintf(w, "\"GC pauses\": the stops of the world for the GC in the gateway's process that lasted 1 ms or more, and the longest.\n\n")
	fmt.Fprintf(w, "| target | req/s | missed | p50 | p99 | added p50 / p99 vs direct | vs bare | vs lyumen-norec | CPU/req | GC pauses | errors |\n")
	fmt.Fprintf(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, name := range names {
		r := &lat[name].Total
		vsDirect, vsBare, vsNoRec := "", "", ""
		if name != bench.NameDirect {
			vsDirect = added(r, &lat[bench.NameDirect].Total)
		}
		if name == bench.NameLyumen || name == bench.NameLyumenNoRec {
			vsBare = added(r, &lat[bench.NameBare].Total)
		}
		if name == bench.NameLyumen {
			vsNoRec = added(r, &lat[bench.NameLyumenNoRec].Total)
		}
		fmt.Fprintf(w, "| %s | %.0f | %d | %s | %s | %s | %s | %s | %d µs | %d, ≤ %s | %d |\n",
			name, r.Rate(), r.Missed, ms(r.Percentile(0.5)), ms(r.Percentile(0.99)), vsDirect, vsBare, vsNoRec,
			r.CPUPerRequest().Microseconds(), r.GCSlowPauses, ms(r.GCPauseMax), r.Errors)
		if saturated(r) {
			warnings = append(warnings, fmt.Sprintf("latency: %s missed %d of %d arrivals: at %.0f req/s it was saturated, and its latency includes queueing", name, r.Missed, r.Requests+r.Missed, rate))
		}
	}
	checkErrors(lat, "latency")
	fmt.Fprintf(w, "\nLyumen's recording: %s\n", spoolLine(&lat[bench.NameLyumen].Total))

	// Throughput is checked on the median of the per-round ratios: each
	// round measures the targets close together in time, and one round's
	// burst of noise from elsewhere on the machine does not move the
	// median. Latency is checked on p99s pooled over many short rounds:
	// a burst of noise lasting seconds falls on every target alike, and a
	// p99 needs more samples than one short round holds. Its halves (the
	// first and the last half of the rounds) show how steady it is.
	fmt.Fprintf(w, "\n")
	gw := lat[bench.NameLyumen]
	for _, g := range goals {
		ratio, lo, hi := roundStats(tput[bench.NameLyumen].Rounds, tput[g.base].Rounds, func(a, b *bench.Result) float64 { return a.Rate() / b.Rate() })
		ok := ratio >= minRatio
		if !ok {
			fail("%s: Lyumen throughput %.1f%% of %s, below %.0f%%", g.issue, 100*ratio, g.base, 100*minRatio)
		}
		fmt.Fprintf(w, "- %s, throughput: Lyumen %.1f%% of %s (median of %d rounds; %.1f–%.1f%%), target ≥ %.0f%%: **%s**\n",
			g.issue, 100*ratio, g.base, len(tput[bench.NameLyumen].Rounds), 100*lo, 100*hi, 100*minRatio, verdict(ok))

		base := lat[g.base]
		h := len(gw.Rounds) / 2
		d99 := p99Diff(gw.Rounds, base.Rounds)
		first, last := p99Diff(gw.Rounds[:h], base.Rounds[:h]), p99Diff(gw.Rounds[h:], base.Rounds[h:])
		ok = d99 <= g.maxP99
		// The verdict stands only if the baseline kept up with the rate
		// and both halves of the rounds agree with it; otherwise the noise
		// decided it, and it is reported, and counted, as inconclusive.
		var doubt string
		switch {
		case saturated(&base.Total):
			doubt = g.base + " itself could not keep up with the rate"
		case (first <= g.maxP99) != ok || (last <= g.maxP99) != ok:
			doubt = "the halves disagree"
		}
		v := "**" + verdict(ok) + "**"
		switch {
		case doubt != "":
			v = "**INCONCLUSIVE** (" + doubt + "; the pooled figure alone would " + verdict(ok) + ")"
			fail("%s: Lyumen's added p99 over %s at %.0f req/s is inconclusive (%s): %s", g.issue, g.base, rate, doubt, signed(d99))
		case !ok:
			fail("%s: Lyumen adds %s p99 over %s at %.0f req/s, above %s", g.issue, signed(d99), g.base, rate, ms(g.maxP99))
		}
		fmt.Fprintf(w, "- %s, latency: Lyumen's p99 − %s's at %.0f req/s: %s (halves: %s, %s), target ≤ %s: %s\n",
			g.issue, g.base, rate, signed(d99), signed(first), signed(last), ms(g.maxP99), v)
	}
	for _, warning := range warnings {
		fmt.Fprintf(w, "- warning: %s\n", warning)
	}
	return failures
}

const probeSyncs = 200

// probeFsync times appending 1 KiB to a file in dir and fsyncing it, as
// the spool does for a group of one record, and returns the p50 and p99,
// and the CPU time (user and system) of one write and fsync: a virtual
// disk's flush costs CPU too, and every group commit pays it.
func probeFsync(dir string) (p50, p99, cpu time.Duration, err error) {
	f, err := os.CreateTemp(dir, "fsync-probe")
	if err != nil {
		return 0, 0, 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, 1024)
	d := make([]time.Duration, 0, probeSyncs)
	cpu0 := bench.ProcessCPU()
	for range probeSyncs {
		start := time.Now()
		if _, err := f.Write(buf); err != nil {
			return 0, 0, 0, err
		}
		if err := f.Sync(); err != nil {
			return 0, 0, 0, err
		}
		d = append(d, time.Since(start))
	}
	cpu = (bench.ProcessCPU() - cpu0) / probeSyncs
	slices.Sort(d)
	return bench.Percentile(d, 0.5), bench.Percentile(d, 0.99), cpu, nil
}

// spoolLine says how long the recording gateway waited for its spool.
func spoolLine(r *bench.Result) string {
	return fmt.Sprintf("Record (to the spool, durable) p50 %s, p99 %s; %d group commits (write + fsync) p50 %s, p99 %s, %.1f records each",
		ms(bench.Percentile(r.Record, 0.5)), ms(bench.Percentile(r.Record, 0.99)), len(r.Sync),
		ms(bench.Percentile(r.Sync, 0.5)), ms(bench.Percentile(r.Sync, 0.99)), float64(len(r.Record))/float64(max(len(r.Sync), 1)))
}

// saturated reports whether a fixed-rate load missed more than 1% of its
// arrivals. A stall of the whole process (GC, the machine's other jobs)
// can miss a few; more means the target could not keep up, and its
// latency includes queueing.
func saturated(r *bench.Result) bool { return r.Missed*100 > r.Requests+r.Missed }

// names are the targets in the order they are reported.
var names = []string{bench.NameDirect, bench.NameBare, bench.NameLyumenNoRec, bench.NameLyumen}

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// ratioCell is the median throughput ratio of a to b over the rounds, with
// its range.
func ratioCell(a, b []bench.Result) string {
	med, lo, hi := roundStats(a, b, func(a, b *bench.Result) float64 { return a.Rate() / b.Rate() })
	return fmt.Sprintf("%.3f (%.3f–%.3f)", med, lo, hi)
}

// added is the p50 and p99 r adds over base.
func added(r, base *bench.Result) string {
	return signed(r.Percentile(0.5)-base.Percentile(0.5)) + " / " + signed(r.Percentile(0.99)-base.Percentile(0.99))
}

// roundStats returns the median, lowest and highest of f(a, b), round by
// round.
func roundStats(a, b []bench.Result, f func(a, b *bench.Result) float64) (median, lo, hi float64) {
	v := make([]float64, len(a))
	for i := range a {
		v[i] = f(&a[i], &b[i])
	}
	return medianOf(v), slices.Min(v), slices.Max(v)
}

// p99Diff is the p99 of a's rounds pooled minus that of b's.
func p99Diff(a, b []bench.Result) time.Duration {
	var pa, pb bench.Result
	for i := range a {
		pa.Merge(a[i])
		pb.Merge(b[i])
	}
	return pa.Percentile(0.99) - pb.Percentile(0.99)
}

// medianRate is the median throughput of the rounds.
func medianRate(rounds []bench.Result) float64 {
	v := make([]float64, len(rounds))
	for i := range rounds {
		v[i] = rounds[i].Rate()
	}
	return medianOf(v)
}

func medianOf(v []float64) float64 {
	slices.Sort(v)
	n := len(v)
	if n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2
	}
	return v[n/2]
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

// cpuEach says what the probe's write + fsync cost in the process's CPU
// time (other threads included, idle then), or nothing where that is not
// measured.
func cpuEach(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return fmt.Sprintf(", CPU %.0f µs each", float64(d)/float64(time.Microsecond))
}

func signed(d time.Duration) string {
	return fmt.Sprintf("%+.2f ms", float64(d)/float64(time.Millisecond))
}
