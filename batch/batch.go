// Package batch is the in-memory Recorder: it takes records off the request
// path and writes them to the store in batches, retrying a failed batch
// until the store takes it. On shutdown it writes everything still queued.
package batch

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/lyumen/lyumen"
)

// Writer stores a batch of records. Writing a record twice must store it
// once, so a batch whose outcome was unknown can be retried.
type Writer interface {
	WriteRecords(ctx context.Context, recs []*lyumen.Record) error
}

// ErrClosed is returned by Record after the recorder stopped.
var ErrClosed = errors.New("recorder stopped")

// Options tunes a Recorder; zero values take the defaults.
type Options struct {
	Size     int           // records per batch; default 500
	Queue    int           // records waiting; default 16 batches
	Interval time.Duration // longest a record waits for a batch to fill; default 200ms
	Logger   *slog.Logger
	// OnWritten is told how many records each successful batch stored.
	OnWritten func(n int)
}

// Recorder queues records and writes them in batches from Run.
type Recorder struct {
	w  Writer
	o  Options
	ch chan *lyumen.Record

	mu      sync.RWMutex
	closed  bool
	senders sync.WaitGroup // Record calls past the closed check; ch closes after them
}

var _ lyumen.Recorder = (*Recorder)(nil)

// New returns a Recorder writing to w. Call Run to start writing.
func New(w Writer, o Options) *Recorder {
	if o.Size <= 0 {
		o.Size = 500
	}
	if o.Queue <= 0 {
		o.Queue = 16 * o.Size
	}
	if o.Interval <= 0 {
		o.Interval = 200 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Logger = o.Logger.With("component", "recorder")
	if o.OnWritten == nil {
		o.OnWritten = func(int) {}
	}
	return &Recorder{w: w, o: o, ch: make(chan *lyumen.Record, o.Queue)}
}

// Record queues rec. It waits while the queue is full (the store is behind)
// until ctx ends: a record is never dropped silently.
func (r *Recorder) Record(ctx context.Context, rec *lyumen.Record) error {
	r.mu.RLock()
	if r.closed {
		r.mu.RUnlock()
		return ErrClosed
	}
	r.senders.Add(1)
	r.mu.RUnlock()
	defer r.senders.Done()
	select {
	case r.ch <- rec:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run writes batches until ctx ends, then stops intake, writes everything
// still queued and returns. Records offered after that get ErrClosed.
func (r *Recorder) Run(ctx context.Context) error {
	batch := make([]*lyumen.Record, 0, r.o.Size)
	tick := time.NewTicker(r.o.Interval)
	defer tick.Stop()
	for {
		select {
		case rec := <-r.ch:
			batch = append(batch, rec)
			if len(batch) < r.o.Size {
				continue
			}
		case <-tick.C:
			if len(batch) == 0 {
				continue
			}
		case <-ctx.Done():
			r.drain(batch)
			return nil
		}
		r.write(ctx, batch)
		batch = batch[:0]
	}
}

// drain writes everything queued, including records from Record calls
// already under way. It keeps retrying a failing store: these records were
// promised to clients, and the caller bounds how long shutdown may take.
func (r *Recorder) drain(batch []*lyumen.Record) {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	go func() {
		r.senders.Wait()
		close(r.ch)
	}()
	ctx := context.Background()
	for rec := range r.ch {
		batch = append(batch, rec)
		if len(batch) == r.o.Size {
			r.write(ctx, batch)
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		r.write(ctx, batch)
	}
}

// write stores batch, retrying with backoff until the store takes it.
func (r *Recorder) write(ctx context.Context, batch []*lyumen.Record) {
	backoff := 50 * time.Millisecond
	for {
		err := r.w.WriteRecords(context.WithoutCancel(ctx), batch)
		if err == nil {
			r.o.OnWritten(len(batch))
			return
		}
		r.o.Logger.ErrorContext(ctx, "write records; retrying", "records", len(batch), "retry_in", backoff, "err", err)
		time.Sleep(backoff)
		backoff = min(2*backoff, 5*time.Second)
	}
}
