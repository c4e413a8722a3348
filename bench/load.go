package bench

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Load is one measurement, closed or open.
//
// Closed (Rate zero): Clients clients each send requests one after another,
// the next as soon as the last is answered. At enough clients this finds
// the most a target can serve, and its latencies are mostly queueing.
//
// Open (Rate positive): requests arrive at fixed intervals of 1/Rate
// seconds, whatever the answers, and each goes to an idle client of the
// Clients; an arrival that finds every client busy is not sent and counts
// as Missed. Below a target's capacity the latencies are its own, not the
// queue's. Arrivals are paced by a timer that sleeps until the next one is
// due and then starts every arrival that is due, so a late wake-up (Go's
// timers sleep about a millisecond at least on an idle machine) starts a
// few at once rather than fewer in all.
//
// The load ends when Duration has passed or Requests have been started (or
// missed) in all. Both bounds are needed: a zero Duration or Requests sends
// nothing. A request under way when the load ends is finished, not cut, so
// every request sent is counted exactly once.
type Load struct {
	URL      string // base URL; requests go to URL + "/v1/chat/completions"
	Clients  int
	Duration time.Duration
	Requests int
	Stream   bool
	Rate     float64 // arrivals per second; zero for a closed load
	// Questions, when set, numbers each request's question from it, so
	// that no two requests of the loads sharing it record the same
	// content; when nil every request is RequestBody's, which a recording
	// gateway's store keeps once.
	Questions *atomic.Uint64
}

// Result is what a load measured.
type Result struct {
	Requests int // sent and finished, including the failed ones
	Errors   int
	Missed   int           // open load: arrivals not sent because every client was busy
	Err      error         // the first failure, for the report
	Elapsed  time.Duration // from the first request to the last answer, plus Drain
	// Drain is the time the recording gateway's spool took, after the
	// last answer, to ship the records left (see Targets.Run).
	Drain time.Duration
	// CPU is the time, user and system, the whole process used meanwhile:
	// the clients and the mock as well as the target. On a busy machine it
	// varies far less than Elapsed.
	CPU       time.Duration
	Latencies []time.Duration // of the successful requests, sorted
	// For a load on the recording gateway (see Targets.Run): how long
	// each of its Record calls took, and each of the spool's group
	// commits (a write and an fsync); sorted.
	Record, Sync []time.Duration
	// GCSlowPauses counts the gateway process's stops of the world for
	// the GC that lasted slowPause or more, and GCPauseMax is the longest
	// (an upper bound): see Targets.Run.
	GCSlowPauses int
	GCPauseMax   time.Duration
}

// Rate is the successful requests per second.
func (r *Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(len(r.Latencies)) / r.Elapsed.Seconds()
}

// Busy is the share of ncpu CPUs the process used meanwhile. Below 1 in
// a closed loop, the load left CPU idle: what bounded its rate was
// waiting (for an fsync, say), not work.
func (r *Result) Busy(ncpu int) float64 {
	if r.Elapsed <= 0 || ncpu <= 0 {
		return 0
	}
	return r.CPU.Seconds() / (r.Elapsed.Seconds() * float64(ncpu))
}

// CPUPerRequest is the process's CPU time per request.
func (r *Result) CPUPerRequest() time.Duration {
	if r.Requests == 0 {
		return 0
	}
	return r.CPU / time.Duration(r.Requests)
}

// Percentile returns the latency below which a fraction q (0 < q <= 1) of
// the successful requests fall, by nearest rank; 0 without any.
func (r *Result) Percentile(q float64) time.Duration { return Percentile(r.Latencies, q) }

// Percentile returns the value below which a fraction q (0 < q <= 1) of
// the sorted durations d fall, by nearest rank; 0 without any.
func Percentile(d []time.Duration, q float64) time.Duration {
	n := len(d)
	if n == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(n))) - 1
	return d[min(max(i, 0), n-1)]
}

// Merge adds o to r, as if both had been one measurement: requests and
// elapsed times add up, latencies pool.
func (r *Result) Merge(o Result) {
	r.Requests += o.Requests
	r.Errors += o.Errors
	r.Missed += o.Missed
	if r.Err == nil {
		r.Err = o.Err
	}
	r.Elapsed += o.Elapsed
	r.Drain += o.Drain
	r.CPU += o.CPU
	r.Latencies = append(r.Latencies, o.Latencies...)
	slices.Sort(r.Latencies)
	r.Record = append(r.Record, o.Record...)
	slices.Sort(r.Record)
	r.Sync = append(r.Sync, o.Sync...)
	slices.Sort(r.Sync)
	r.GCSlowPauses += o.GCSlowPauses
	r.GCPauseMax = max(r.GCPauseMax, o.GCPauseMax)
}

// NewClient returns the load generator's HTTP client: one keep-alive
// connection per client and host, kept between loads.
func NewClient(clients int) *http.Client {
	t := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        4 * clients,
		MaxIdleConnsPerHost: clients,
		IdleConnTimeout:     5 * time.Minute,
		DisableCompression:  true,
	}
	// A bound on one request, so a stuck target cannot hang a load.
	return &http.Client{Transport: t, Timeout: 30 * time.Second}
}

// RequestBody is the chat request every client sends: a short conversation,
// asking for usage when streamed, as SDKs do.
func RequestBody(stream bool) []byte { return appendRequest(nil, stream, 0) }

// appendRequest appends RequestBody to b, its question numbered n when n
// is positive.
func appendRequest(b []byte, stream bool, n uint64) []byte {
	b = append(b, `{"model":"bench-model","messages":[`+
		`{"role":"system","content":"You are a concise assistant. Answer in one sentence."},`+
		`{"role":"user","content":"`...)
	if n > 0 {
		b = append(strconv.AppendUint(append(b, "Question "...), n, 10), ": "...)
	}
	b = append(b, `What does a reverse proxy do, in one sentence?"}],`+
		`"temperature":0.2,"max_tokens":256,"user":"bench"`...)
	if stream {
		b = append(b, `,"stream":true,"stream_options":{"include_usage":true}`...)
	}
	return append(b, '}')
}

// Run applies l with hc and returns what it measured. Canceling ctx ends the
// load early and cuts the requests under way.
func Run(ctx context.Context, hc *http.Client, l Load) Result {
	c := &caller{hc: hc, url: l.URL + "/v1/chat/completions", body: RequestBody(l.Stream), stream: l.Stream, seq: l.Questions}
	deadline := time.Now().Add(l.Duration)
	results := make([]Result, l.Clients)
	var wg sync.WaitGroup
	var missed int
	start, cpu := time.Now(), ProcessCPU()
	if l.Rate <= 0 {
		var started atomic.Int64
		for i := range results {
			wg.Go(func() {
				var buf bytes.Buffer
				for ctx.Err() == nil && time.Now().Before(deadline) && started.Add(1) <= int64(l.Requests) {
					c.call(ctx, &results[i], &buf)
				}
			})
		}
	} else {
		// Unbuffered: a send goes through only to a client waiting for work.
		arrivals := make(chan struct{})
		for i := range results {
			wg.Go(func() {
				var buf bytes.Buffer
				for range arrivals {
					c.call(ctx, &results[i], &buf)
				}
			})
		}
		missed = pace(ctx, start, deadline, l.Rate, l.Requests, arrivals)
		close(arrivals)
	}
	wg.Wait()
	total := Result{Missed: missed, Elapsed: time.Since(start), CPU: ProcessCPU() - cpu}
	for _, r := range results {
		total.Requests += r.Requests
		total.Errors += r.Errors
		if total.Err == nil {
			total.Err = r.Err
		}
		total.Latencies = append(total.Latencies, r.Latencies...)
	}
	slices.Sort(total.Latencies)
	return total
}

// pace makes arrivals at rate per second from start until deadline, at
// most n of them, each handed to an idle client on arrivals, and returns
// how many found no client idle.
func pace(ctx context.Context, start, deadline time.Time, rate float64, n int, arrivals chan<- struct{}) (missed int) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for i := range n {
		due := start.Add(time.Duration(float64(i) * float64(time.Second) / rate))
		if !due.Before(deadline) {
			break
		}
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return missed
			}
		}
		select {
		case arrivals <- struct{}{}:
		default:
			missed++
		}
	}
	return missed
}

// caller sends one load's requests.
type caller struct {
	hc     *http.Client
	url    string
	body   []byte
	stream bool
	seq    *atomic.Uint64 // Load.Questions
}

// call sends one request and adds its outcome to res. The latency runs
// from the moment the client starts the request to the end of the answer.
func (c *caller) call(ctx context.Context, res *Result, buf *bytes.Buffer) {
	body := c.body
	if c.seq != nil {
		body = appendRequest(make([]byte, 0, len(c.body)+32), c.stream, c.seq.Add(1))
	}
	t0 := time.Now()
	err := send(ctx, c.hc, c.url, body, c.stream, buf)
	d := time.Since(t0)
	res.Requests++
	if err != nil {
		res.Errors++
		if res.Err == nil {
			res.Err = err
		}
		return
	}
	res.Latencies = append(res.Latencies, d)
}

var streamEnd = []byte("data: [DONE]\n\n")

// send makes one request and reads the answer to its end into buf.
func send(ctx context.Context, hc *http.Client, url string, body []byte, stream bool, buf *bytes.Buffer) error {
	err := post(ctx, hc, url, body, nil, buf)
	switch {
	case err != nil:
		return err
	case stream && !bytes.HasSuffix(buf.Bytes(), streamEnd):
		return fmt.Errorf("stream ended without [DONE] after %d bytes", buf.Len())
	case !stream && buf.Len() == 0:
		return fmt.Errorf("empty answer")
	}
	return nil
}

// post sends body to url as JSON, with the headers of header (nil: none
// more), and reads the answer into buf; an answer other than 200 is an
// error.
func post(ctx context.Context, hc *http.Client, url string, body []byte, header map[string]string, buf *bytes.Buffer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "lyumen-bench/1")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	buf.Reset()
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d: %.200s", resp.StatusCode, buf.Bytes())
	}
	return nil
}
