// Command soak holds many streaming clients against a Lyumen gateway for a
// while and reports what it cost the gateway: its peak resident memory
// (VmHWM of the gateway's own process), its goroutines before, during and
// after the load (after: back at the baseline, or something leaks), and
// every error a client saw. The gateway is the real binary, built from
// this module and run as a separate process, recording through its spool
// into SQLite, in front of bench's mock upstream (in this process).
//
// Usage (from the module root):
//
//	go run ./bench/cmd/soak -c 1000 -d 60s
//
// All clients come from one address, so the runner turns the per-client
// rate limits off; every other limit keeps its default.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lyumen/lyumen/bench"
	"github.com/lyumen/lyumen/sqlite"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

type config struct {
	clients        int
	dur            time.Duration
	delay          time.Duration
	settle         time.Duration
	bin, dir       string
	keepLogs       bool
	goroutineSlack int
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c config
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.clients, "c", 1000, "concurrent streaming clients")
	fs.DurationVar(&c.dur, "d", 60*time.Second, "how long the clients stream")
	fs.DurationVar(&c.delay, "delay", 100*time.Millisecond, "the mock's delay before its answer and between streamed events (a stream takes about 22 of them)")
	fs.DurationVar(&c.settle, "settle", 30*time.Second, "how long to wait after the load for the gateway's goroutines to return to the baseline")
	fs.IntVar(&c.goroutineSlack, "goroutine-slack", 3, "goroutines above the baseline still counted as back at it")
	fs.StringVar(&c.bin, "bin", "", "the lyumen binary (default: built from this module)")
	fs.StringVar(&c.dir, "dir", "", "where the gateway's spool and SQLite store go, in a new directory removed afterwards (default: the system's temp dir)")
	fs.BoolVar(&c.keepLogs, "logs", false, "copy the gateway's log to stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.clients < 1 || c.dur <= 0 {
		return errors.New("-c and -d must be positive")
	}
	dir, err := os.MkdirTemp(c.dir, "lyumen-soak")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	// The mock upstream, in this process.
	mock := bench.NewMock()
	mock.Delay = c.delay
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	msrv := &http.Server{Handler: mock, ReadHeaderTimeout: 10 * time.Second}
	go msrv.Serve(mln)
	defer msrv.Close()

	bin := c.bin
	if bin == "" {
		bin = filepath.Join(dir, "lyumen")
		fmt.Fprintln(stderr, "building the gateway…")
		out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/lyumen/lyumen/cmd/lyumen").CombinedOutput()
		if err != nil {
			return fmt.Errorf("go build: %v\n%s", err, out)
		}
	}
	g, err := startGateway(ctx, bin, dir, "http://"+mln.Addr().String()+"/v1", c.clients)
	if err != nil {
		return err
	}
	defer g.kill()
	if c.keepLogs {
		defer func() { stderr.Write(g.logs.Bytes()) }()
	}

	base, err := g.goroutines(ctx)
	if err != nil {
		return err
	}
	baseRSS, _ := procStatus(g.cmd.Process.Pid, "VmRSS")
	fmt.Fprintf(stderr, "gateway pid %d up: %d goroutines, RSS %s; %d clients for %v…\n", g.cmd.Process.Pid, base, mib(baseRSS), c.clients, c.dur)

	res := load(ctx, g.addr, c, g.cmd.Process.Pid, g.goroutines)

	// Peak figures while loaded are sampled by load; after it, the idle
	// client connections are closed, and so are the mock's (the gateway
	// keeps idle upstream connections for reuse, two goroutines each, for
	// 90 s): the gateway should then let go of everything the load made.
	msrv.SetKeepAlivesEnabled(false)
	after, settled := base, false
	deadline := time.Now().Add(c.settle)
	for time.Now().Before(deadline) {
		if after, err = g.goroutines(ctx); err != nil {
			return err
		}
		if after <= base+c.goroutineSlack {
			settled = true
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	hwm, err := procStatus(g.cmd.Process.Pid, "VmHWM")
	if err != nil {
		return err
	}
	goroutinesDump := ""
	if !settled {
		goroutinesDump = g.dump(ctx)
	}

	// SIGTERM: the gateway drains its spool into SQLite and exits; then
	// every exchange a client completed must have its record.
	if err := g.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	exitErr := g.wait(2 * time.Minute)
	db, err := sqlite.Open(ctx, filepath.Join(dir, "lyumen.db"))
	if err != nil {
		return err
	}
	records, err := db.Count(ctx)
	db.Close()
	if err != nil {
		return err
	}

	fmt.Fprintf(stdout, "## Soak: %d streaming clients for %v\n\n", c.clients, c.dur)
	fmt.Fprintf(stdout, "| figure | value | target |\n|---|---:|---|\n")
	fmt.Fprintf(stdout, "| streams completed | %d (%.0f/s) | |\n", res.ok, float64(res.ok)/res.elapsed.Seconds())
	fmt.Fprintf(stdout, "| stream duration p50 / p99 / max | %v / %v / %v | (mock: about %v) |\n",
		res.pct(0.50), res.pct(0.99), res.pct(1), 22*c.delay)
	fmt.Fprintf(stdout, "| client errors | %d | 0 |\n", res.errs.Load())
	fmt.Fprintf(stdout, "| gateway peak RSS (VmHWM) | %s | < 300 MiB |\n", mib(hwm))
	fmt.Fprintf(stdout, "| gateway RSS before the load | %s | |\n", mib(baseRSS))
	fmt.Fprintf(stdout, "| gateway peak RSS sampled during the load | %s | |\n", mib(res.peakRSS))
	fmt.Fprintf(stdout, "| gateway goroutines: before / peak / after | %d / %d / %d | after ≤ before + %d |\n", base, res.peakGoroutines, after, c.goroutineSlack)
	fmt.Fprintf(stdout, "| records in the store after SIGTERM | %d | ≥ streams completed (%d) |\n", records, res.ok)
	fmt.Fprintf(stdout, "| gateway exit | %v | nil |\n", exitErr)
	if len(res.kinds) > 0 {
		fmt.Fprintf(stdout, "\nErrors by kind:\n\n")
		for k, n := range res.kinds {
			fmt.Fprintf(stdout, "- %d × %s\n", n, k)
		}
	}
	fmt.Fprintf(stdout, "\nMachine: %d CPUs (GOMAXPROCS %d), %s/%s, %s. The clients and the mock run in the runner's process, the gateway in its own.\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version())

	var failed []string
	if res.errs.Load() > 0 {
		failed = append(failed, "client errors")
	}
	if hwm > 300<<20 {
		failed = append(failed, "peak RSS")
	}
	if !settled {
		failed = append(failed, "goroutines did not return to the baseline")
		fmt.Fprintf(stderr, "goroutines still running:\n%s\n", goroutinesDump)
	}
	if records < res.ok {
		failed = append(failed, "records missing")
	}
	if exitErr != nil {
		failed = append(failed, "gateway exit")
	}
	if len(failed) > 0 {
		return fmt.Errorf("targets missed: %s", strings.Join(failed, ", "))
	}
	return nil
}

// gateway is the lyumen process under test.
type gateway struct {
	cmd             *exec.Cmd
	addr, adminAddr string
	token           string
	logs            *lockedBuffer
	done            chan error
}

func startGateway(ctx context.Context, bin, dir, upstream string, clients int) (*gateway, error) {
	g := &gateway{addr: freeAddr(), adminAddr: freeAddr(), token: rand.Text(), logs: &lockedBuffer{}, done: make(chan error, 1)}
	cfg := fmt.Sprintf(`listen: %s
admin_listen: %s
admin_token: %s
store: sqlite://%s
spool: {dir: %s, drain_timeout: 2m}
log_level: warn
providers:
  - {name: mock, kind: openai, base_url: %s}
models:
  - name: mock-model
    targets: [{provider: mock, model: mock-model}]
limits:
  requests_per_minute: 0   # every client is 127.0.0.1
  tokens_per_minute: 0
  client_concurrency: 0
  max_connections: %d
`, g.addr, g.adminAddr, g.token, filepath.Join(dir, "lyumen.db"), filepath.Join(dir, "spool"), upstream, clients+1024)
	path := filepath.Join(dir, "lyumen.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	g.cmd = exec.Command(bin, "serve", "--config", path)
	g.cmd.Stdout, g.cmd.Stderr = g.logs, g.logs
	if err := g.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { g.done <- g.cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + g.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if _, err := g.goroutines(ctx); err == nil {
				http.DefaultClient.CloseIdleConnections()
				return g, nil
			}
		}
		select {
		case err := <-g.done:
			return nil, fmt.Errorf("gateway exited: %v\n%s", err, g.logs.Bytes())
		default:
		}
		if time.Now().After(deadline) {
			g.kill()
			return nil, fmt.Errorf("gateway did not come up: %v\n%s", err, g.logs.Bytes())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (g *gateway) kill() {
	g.cmd.Process.Kill()
}

func (g *gateway) wait(d time.Duration) error {
	select {
	case err := <-g.done:
		return err
	case <-time.After(d):
		g.kill()
		return fmt.Errorf("did not exit within %v of SIGTERM", d)
	}
}

func (g *gateway) adminGet(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+g.adminAddr+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+g.token)
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("admin %s: %s", path, resp.Status)
	}
	return io.ReadAll(resp.Body)
}

// goroutines reads go_goroutines from the gateway's metrics. The admin
// request itself runs on a goroutine the count includes.
func (g *gateway) goroutines(ctx context.Context) (int, error) {
	b, err := g.adminGet(ctx, "/metrics")
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return int(f), err
		}
	}
	return 0, errors.New("no go_goroutines in the gateway's metrics")
}

func (g *gateway) dump(ctx context.Context) string {
	b, err := g.adminGet(ctx, "/metrics")
	if err != nil {
		return err.Error()
	}
	var lines []string
	for l := range strings.SplitSeq(string(b), "\n") {
		if strings.HasPrefix(l, "go_") && !strings.Contains(l, "_bucket") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

// result is what the clients saw.
type result struct {
	ok             int64
	errs           atomic.Int64
	kinds          map[string]int
	durs           []time.Duration
	elapsed        time.Duration
	peakRSS        int64
	peakGoroutines int
}

func (r *result) pct(p float64) time.Duration {
	if len(r.durs) == 0 {
		return 0
	}
	i := int(p * float64(len(r.durs)-1))
	return r.durs[i].Round(time.Millisecond)
}

const body = `{"model":"mock-model","stream":true,"stream_options":{"include_usage":true},` +
	`"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Explain what a reverse proxy does."}]}`

// load runs the clients for c.dur, each streaming one completion after
// another, and samples the gateway's memory and goroutines meanwhile.
func load(ctx context.Context, addr string, c config, pid int, goroutines func(context.Context) (int, error)) *result {
	tr := &http.Transport{
		MaxIdleConns: c.clients, MaxIdleConnsPerHost: c.clients, IdleConnTimeout: 90 * time.Second,
		DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Minute}
	res := &result{kinds: map[string]int{}}
	var mu sync.Mutex
	fail := func(kind string) {
		res.errs.Add(1)
		mu.Lock()
		res.kinds[kind]++
		mu.Unlock()
	}
	lctx, cancel := context.WithTimeout(ctx, c.dur)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for range c.clients {
		wg.Go(func() {
			var durs []time.Duration
			var ok int64
			for lctx.Err() == nil {
				t0 := time.Now()
				// Streams under way when the time is up finish: ctx, not
				// lctx, bounds each request.
				kind := stream(ctx, client, addr)
				if kind != "" {
					fail(kind)
					continue
				}
				ok++
				durs = append(durs, time.Since(t0))
			}
			mu.Lock()
			res.ok += ok
			res.durs = append(res.durs, durs...)
			mu.Unlock()
		})
	}
	// Sample while the clients run.
	sampler := time.NewTicker(time.Second)
	defer sampler.Stop()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for {
		select {
		case <-done:
			res.elapsed = time.Since(start)
			slices.Sort(res.durs)
			return res
		case <-sampler.C:
			if rss, err := procStatus(pid, "VmRSS"); err == nil && rss > res.peakRSS {
				res.peakRSS = rss
			}
			if n, err := goroutines(ctx); err == nil && n > res.peakGoroutines {
				res.peakGoroutines = n
			}
		}
	}
}

// stream sends one streamed chat completion and reads it to its end. It
// returns "" on success, or what went wrong.
func stream(ctx context.Context, client *http.Client, addr string) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		return "build request"
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "interrupted"
		}
		return "transport: " + errKind(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, resp.Body)
		return "status " + resp.Status
	}
	sc := bufio.NewScanner(resp.Body)
	done, usage := false, false
	for sc.Scan() {
		line := sc.Text()
		done = done || line == "data: [DONE]"
		usage = usage || strings.Contains(line, `"usage":{`)
	}
	if err := sc.Err(); err != nil {
		return "read: " + errKind(err)
	}
	if !done || !usage {
		return "stream without usage or [DONE]"
	}
	return ""
}

func errKind(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}

// procStatus reads a field of /proc/<pid>/status in bytes (VmRSS, VmHWM).
func procStatus(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for l := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]byte(nil), l.b.Bytes()...)
}
