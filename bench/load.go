package bench

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Load is one measurement: Clients clients, each sending requests one after
// another until Duration has passed or Requests have been started in all.
// Both bounds are needed: a zero Duration or Requests sends nothing. A
// request under way when the load ends is finished, not cut, so every
// request sent is counted exactly once.
type Load struct {
	URL      string // base URL; requests go to URL + "/v1/chat/completions"
	Clients  int
	Duration time.Duration
	Requests int
	Stream   bool
}

// Result is what a load measured.
type Result struct {
	Requests int // sent and finished, including the failed ones
	Errors   int
	Err      error         // the first failure, for the report
	Elapsed  time.Duration // from the first request to the last answer
	// CPU is the time, user and system, the whole process used meanwhile:
	// the clients and the mock as well as the target. On a busy machine it
	// varies far less than Elapsed.
	CPU       time.Duration
	Latencies []time.Duration // of the successful requests, sorted
}

// Rate is the successful requests per second.
func (r *Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(len(r.Latencies)) / r.Elapsed.Seconds()
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
func (r *Result) Percentile(q float64) time.Duration {
	n := len(r.Latencies)
	if n == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(n))) - 1
	return r.Latencies[min(max(i, 0), n-1)]
}

// Merge adds o to r, as if both had been one measurement: requests and
// elapsed times add up, latencies pool.
func (r *Result) Merge(o Result) {
	r.Requests += o.Requests
	r.Errors += o.Errors
	if r.Err == nil {
		r.Err = o.Err
	}
	r.Elapsed += o.Elapsed
	r.CPU += o.CPU
	r.Latencies = append(r.Latencies, o.Latencies...)
	slices.Sort(r.Latencies)
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
func RequestBody(stream bool) []byte {
	b := []byte(`{"model":"bench-model","messages":[` +
		`{"role":"system","content":"You are a concise assistant. Answer in one sentence."},` +
		`{"role":"user","content":"What does a reverse proxy do, in one sentence?"}],` +
		`"temperature":0.2,"max_tokens":256,"user":"bench"`)
	if stream {
		b = append(b, `,"stream":true,"stream_options":{"include_usage":true}`...)
	}
	return append(b, '}')
}

// Run applies l with hc and returns what it measured. Canceling ctx ends the
// load early and cuts the requests under way.
func Run(ctx context.Context, hc *http.Client, l Load) Result {
	body := RequestBody(l.Stream)
	url := l.URL + "/v1/chat/completions"
	deadline := time.Now().Add(l.Duration)
	var started atomic.Int64
	results := make([]Result, l.Clients)
	var wg sync.WaitGroup
	start, cpu := time.Now(), processCPU()
	for i := range results {
		wg.Go(func() {
			res := &results[i]
			var buf bytes.Buffer
			for ctx.Err() == nil && time.Now().Before(deadline) && started.Add(1) <= int64(l.Requests) {
				t0 := time.Now()
				err := send(ctx, hc, url, body, l.Stream, &buf)
				d := time.Since(t0)
				res.Requests++
				if err != nil {
					res.Errors++
					if res.Err == nil {
						res.Err = err
					}
					continue
				}
				res.Latencies = append(res.Latencies, d)
			}
		})
	}
	wg.Wait()
	total := Result{Elapsed: time.Since(start), CPU: processCPU() - cpu}
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

var streamEnd = []byte("data: [DONE]\n\n")

// send makes one request and reads the answer to its end into buf.
func send(ctx context.Context, hc *http.Client, url string, body []byte, stream bool, buf *bytes.Buffer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "lyumen-bench/1")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	buf.Reset()
	_, err = buf.ReadFrom(resp.Body)
	switch {
	case err != nil:
		return fmt.Errorf("read answer: %w", err)
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("status %d: %.200s", resp.StatusCode, buf.Bytes())
	case stream && !bytes.HasSuffix(buf.Bytes(), streamEnd):
		return fmt.Errorf("stream ended without [DONE] after %d bytes", buf.Len())
	case !stream && buf.Len() == 0:
		return fmt.Errorf("empty answer")
	}
	return nil
}
