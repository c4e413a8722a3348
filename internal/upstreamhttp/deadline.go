package upstreamhttp

import (
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// Deadline returns rt bounded by timeout, a provider's: a whole answer
// must arrive within it, headers and body; a stream (Post with stream
// set) its headers and first byte, and then each next byte: a stream runs
// as long as it takes, but an upstream silent for timeout has stalled.
// RoundTrip waits for the first byte itself, so that a stream that stalls
// before it fails where the router can still try another target and the
// client still gets a status. Past the deadline the error is a timeout
// (net.Error), which lyumen.TransportError makes a KindTimeout: a 504, or
// a stream that failed after it began.
func Deadline(rt http.RoundTripper, timeout time.Duration) http.RoundTripper {
	return deadline{rt: rt, timeout: timeout}
}

type deadline struct {
	rt      http.RoundTripper
	timeout time.Duration
}

func (d deadline) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	b := &deadlineBody{cancel: cancel, timeout: d.timeout, start: time.Now()}
	b.last.Store(-1)
	b.timer = time.AfterFunc(d.timeout, b.expire)
	resp, err := d.rt.RoundTrip(req.WithContext(ctx))
	if err != nil {
		b.stop()
		return nil, b.mapErr(err)
	}
	b.ReadCloser, resp.Body = resp.Body, b
	if resp.StatusCode == http.StatusOK && req.Header.Get("Accept") == "text/event-stream" {
		n := 0
		for n == 0 && err == nil {
			n, err = b.ReadCloser.Read(b.first[:])
		}
		if n == 0 && err != io.EOF {
			b.Close()
			return nil, b.mapErr(err)
		}
		b.held, b.err = n == 1, err
		b.stream = true
		// From here the timer bounds the silences; one of this and expire
		// takes the first byte's moment (-1), so a timer firing as the byte
		// came either sees it or has cancelled the request, never both.
		if !b.last.CompareAndSwap(-1, int64(time.Since(b.start))) {
			b.Close()
			return nil, errDeadline{}
		}
	}
	return resp, nil
}

// deadlineBody is an answer's body under its deadline: it holds a stream's
// first byte, read by RoundTrip, until the first Read.
type deadlineBody struct {
	io.ReadCloser
	timer   *time.Timer
	timeout time.Duration
	cancel  context.CancelFunc
	fired   atomic.Bool
	first   [1]byte
	held    bool
	err     error // what the read of the first byte ended with, after it
	stream  bool  // the first byte came: the timer bounds silences
	start   time.Time
	// last is when a stream's latest read began, as time since start (or
	// its first byte came, before any); -1 before that, -2 once the timer
	// fired before the first byte. A read stores it, where
	// resetting the timer at every read would take the timer's lock; the
	// timer, when it fires, sets itself again for what is left of the
	// silence. Only a read waits for the upstream: while none is under way
	// (the gateway is writing to a slow client), nothing is the upstream's
	// silence, and the timer waits a whole timeout again.
	last    atomic.Int64
	reading atomic.Bool
}

// expire runs when the timer fires: it cancels the request, unless a
// stream's bytes came since it was set.
func (b *deadlineBody) expire() {
	// reading before last: a read stores last before it sets reading, so a
	// read seen under way has its start in last.
	reading := b.reading.Load()
	last := b.last.Load()
	if last == -1 && !b.last.CompareAndSwap(-1, -2) { // the first byte came as the timer fired
		last = b.last.Load()
	}
	if last >= 0 {
		rest := b.timeout
		if reading {
			rest = time.Duration(last) + b.timeout - time.Since(b.start)
		}
		if rest > 0 {
			b.timer.Reset(rest)
			return
		}
	}
	b.fired.Store(true)
	b.cancel()
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if b.held { // alone: reading on could wait for the next event
		p[0], b.held = b.first[0], false
		return 1, nil
	}
	if b.err != nil {
		return 0, b.err
	}
	if !b.stream {
		n, err := b.ReadCloser.Read(p)
		return n, b.mapErr(err)
	}
	b.last.Store(int64(time.Since(b.start)))
	b.reading.Store(true)
	n, err := b.ReadCloser.Read(p)
	b.reading.Store(false)
	return n, b.mapErr(err)
}

func (b *deadlineBody) Close() error {
	b.stop()
	return b.ReadCloser.Close()
}

// stop ends the deadline. The timer may be firing as it stops: expire
// then sets it again at most once more, to cancel what is cancelled.
func (b *deadlineBody) stop() {
	b.last.Store(-1)
	b.timer.Stop()
	b.cancel()
}

// mapErr is err, or the deadline's error when the deadline cut it.
func (b *deadlineBody) mapErr(err error) error {
	if err != nil && err != io.EOF && b.fired.Load() {
		return errDeadline{}
	}
	return err
}

// errDeadline is the error of an answer cut at its deadline.
type errDeadline struct{}

func (errDeadline) Error() string   { return "no answer within the provider's timeout" }
func (errDeadline) Timeout() bool   { return true }
func (errDeadline) Temporary() bool { return true }
