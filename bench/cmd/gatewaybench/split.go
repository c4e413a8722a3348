package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lyumen/lyumen/bench"
)

// With -split the mock upstream and the clients run in a second process,
// a load worker: as in production, the gateway's process then holds only
// the servers, and its garbage collector and scheduler do not also pace
// the clients and the mock, nor theirs the gateway. The two processes
// still share the machine's CPUs.
//
// The runner starts the worker (this program, with workerEnv set), which
// prints the mock's URL, then reads loads as JSON lines on its stdin and
// answers each with its result on its stdout.
const workerEnv = "GATEWAYBENCH_LOAD_WORKER"

// wireLoad is a bench.Load as the worker is sent it.
type wireLoad struct {
	URL      string
	Clients  int
	Duration time.Duration
	Requests int
	Stream   bool
	Rate     float64
	Distinct bool // number the questions, from one count for the worker's life
}

// wireResult is a bench.Result as the worker sends it back.
type wireResult struct {
	Requests, Errors, Missed int
	Err                      string
	Elapsed, CPU             time.Duration
	Latencies                []time.Duration
}

// worker serves the mock and applies the loads it reads from in.
func worker(ctx context.Context, in io.Reader, out io.Writer, clients int, delay time.Duration) error {
	mock := bench.NewMock()
	mock.Delay = delay
	srv := bench.ServeMock(mock)
	defer srv.Close()
	hc := bench.NewClient(clients)
	var questions atomic.Uint64
	if _, err := fmt.Fprintln(out, srv.URL); err != nil {
		return err
	}
	dec, enc := json.NewDecoder(in), json.NewEncoder(out)
	for {
		var wl wireLoad
		if err := dec.Decode(&wl); err != nil {
			if errors.Is(err, io.EOF) {
				return nil // the runner is done
			}
			return fmt.Errorf("load worker: %w", err)
		}
		l := bench.Load{URL: wl.URL, Clients: wl.Clients, Duration: wl.Duration, Requests: wl.Requests,
			Stream: wl.Stream, Rate: wl.Rate}
		if wl.Distinct {
			l.Questions = &questions
		}
		res := bench.Run(ctx, hc, l)
		wr := wireResult{Requests: res.Requests, Errors: res.Errors, Missed: res.Missed,
			Elapsed: res.Elapsed, CPU: res.CPU, Latencies: res.Latencies}
		if res.Err != nil {
			wr.Err = res.Err.Error()
		}
		if err := enc.Encode(wr); err != nil {
			return fmt.Errorf("load worker: %w", err)
		}
	}
}

// remote is the runner's side of a load worker.
type remote struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	dec *json.Decoder
	url string // the worker's mock
	mu  sync.Mutex
}

// startWorker starts a load worker with the run's clients and mock delay.
// The worker is killed if ctx ends.
func startWorker(ctx context.Context, cfg config, stderr io.Writer) (*remote, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe, "-c", fmt.Sprint(cfg.clients), "-delay", cfg.delay.String())
	cmd.Env = append(os.Environ(), workerEnv+"=1")
	cmd.Stderr = stderr
	cmd.WaitDelay = 10 * time.Second // a worker that does not exit on EOF is killed
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		in.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start load worker: %w", err)
	}
	out := bufio.NewReader(outPipe)
	line, err := out.ReadString('\n')
	if err != nil {
		in.Close()
		cmd.Wait()
		return nil, fmt.Errorf("load worker: no mock URL: %w", err)
	}
	return &remote{cmd: cmd, in: in, dec: json.NewDecoder(out), url: line[:len(line)-1]}, nil
}

// load applies l from the worker. The CPU it reports is the worker's and
// this process's together, as a load run in one process counts both.
func (r *remote) load(ctx context.Context, l bench.Load) bench.Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	fail := func(err error) bench.Result {
		// No request was sent; the error fails a load on Lyumen and warns
		// of one on a baseline.
		return bench.Result{Errors: 1, Err: fmt.Errorf("load worker: %w", err)}
	}
	cpu := bench.ProcessCPU()
	err := json.NewEncoder(r.in).Encode(wireLoad{URL: l.URL, Clients: l.Clients, Duration: l.Duration,
		Requests: l.Requests, Stream: l.Stream, Rate: l.Rate, Distinct: l.Questions != nil})
	if err != nil {
		return fail(err)
	}
	var wr wireResult
	if err := r.dec.Decode(&wr); err != nil {
		return fail(err)
	}
	res := bench.Result{Requests: wr.Requests, Errors: wr.Errors, Missed: wr.Missed, Elapsed: wr.Elapsed,
		CPU: wr.CPU + bench.ProcessCPU() - cpu, Latencies: wr.Latencies}
	if wr.Err != "" {
		res.Err = errors.New(wr.Err)
	}
	return res
}

// stop ends the worker: it returns once its stdin is closed.
func (r *remote) stop() error {
	r.in.Close()
	return r.cmd.Wait()
}

// runWorker is main for a load worker: args are the runner's -c and -delay.
func runWorker(ctx context.Context, args []string, in io.Reader, out, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	return worker(ctx, in, out, cfg.clients, cfg.delay)
}
