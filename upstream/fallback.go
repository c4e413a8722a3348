package upstream

import (
	"context"
	"errors"
	"io"
	"slices"
	"time"

	"github.com/lyumen/lyumen"
)

// fallback is a stream that may still move to another target. Upstreams
// often fail after the stream has opened but before its answer begins:
// Anthropic's overloaded_error after message_start, OpenRouter's error
// chunk when its provider fails, a connection cut after the headers.
// Until its first event with content, such a failure moves the request on
// to the next target, as a failure to open would have, and the events
// before (a role, a message_start, a ping) are held back, so that the
// client sees one target's stream only; a failure that does not move on
// drops them, and comes alone. The target's outcome, for its breaker and
// the record's attempts, is settled then too.
//
// The wait is inside Next, after the surface has sent its headers on a
// timer of its own: a slow first token does not hold them.
type fallback struct {
	ctx   context.Context
	r     *route[lyumen.Stream]
	s     lyumen.Stream
	ready interface{ Ready() bool } // s, when it has Ready
	at    asked                     // the target serving s, while unsettled

	settled bool
	// held are the events before the first with content, their Raw
	// copied, and then that event: passed on once it came.
	held      []lyumen.Event
	heldSince time.Time // when the first was held
	sent      int       // of held
	err       error     // what ended the holding, if not content: returned after held, and again
}

// maxHeld and maxHold bound the holding: an event past either (maxHold
// after the first was held) is passed on, with those held, and the stream
// no longer falls back. An upstream slow to begin sends pings meanwhile
// (Anthropic's), and a client's proxy may cut a connection silent for
// long (Cloudflare's waits 100 s).
const (
	maxHeld = 8
	maxHold = 10 * time.Second
)

func newFallback(ctx context.Context, r *route[lyumen.Stream], s lyumen.Stream, at asked) *fallback {
	f := &fallback{ctx: ctx, r: r}
	f.use(s, at)
	return f
}

// use makes s, opened on at, the stream to read.
func (f *fallback) use(s lyumen.Stream, at asked) {
	f.s, f.at, f.held = s, at, f.held[:0]
	f.ready, _ = s.(interface{ Ready() bool })
}

func (f *fallback) Next() (lyumen.Event, error) {
	if f.settled {
		return f.pass()
	}
	for {
		ev, err := f.s.Next()
		switch {
		case err == nil && ev.Empty():
			return ev, nil // nothing to hold; the caller may flush meanwhile
		case err == nil && !hasContent(&ev) && f.holds():
			ev.Raw = slices.Clone(ev.Raw) // the stream's until its next event; the rest is ev's own
			f.held = append(f.held, ev)
			continue
		case err == nil || errors.Is(err, io.EOF):
			f.r.p.served(f.r.req, f.at)
		case f.r.failed(f.ctx, f.at, err):
			f.s.Close()
			s, at, rerr := f.r.run(f.ctx)
			if rerr == nil {
				f.use(s, at)
				continue
			}
			f.s, f.held, err = nil, nil, rerr // the first target's events go with it
		default:
			// A failure no other target may mend (a refusal, the client
			// gone): the answer never began, and what came before it goes
			// too, so that a surface that has sent nothing yet can answer
			// with the error's own status.
			f.held = nil
		}
		f.settled = true
		if err == nil {
			f.held = append(f.held, ev) // its Raw lasts: the stream is not read before it is passed on
		}
		f.err = err
		return f.pass()
	}
}

// holds says whether one more event without content may be held.
func (f *fallback) holds() bool {
	now := f.r.p.o.Now()
	if len(f.held) == 0 {
		f.heldSince = now
		return true
	}
	return len(f.held) < maxHeld && now.Sub(f.heldSince) < maxHold
}

// pass returns the held events, then the error that ended the holding
// (for good) or the rest of the stream.
func (f *fallback) pass() (lyumen.Event, error) {
	if f.sent < len(f.held) {
		ev := f.held[f.sent]
		if f.sent++; f.sent == len(f.held) {
			f.held, f.sent = nil, 0
		}
		return ev, nil
	}
	if f.err != nil {
		return lyumen.Event{}, f.err
	}
	return f.s.Next()
}

// Ready reports whether Next would not wait on the network, for a caller
// that flushes once per batch of events (see sse.Reader.Ready).
func (f *fallback) Ready() bool {
	if !f.settled {
		return false
	}
	return f.sent < len(f.held) || f.err != nil || f.ready != nil && f.ready.Ready()
}

// Close closes the stream. One closed before its outcome was known (its
// client left) says nothing of the upstream.
func (f *fallback) Close() error {
	if !f.settled {
		f.settled = true
		f.r.failed(f.ctx, f.at, errClosedEarly)
	}
	if f.s == nil {
		return nil // closed when the last target failed
	}
	return f.s.Close()
}

var errClosedEarly = errors.New("the stream was closed before its answer began")

// hasContent reports that ev begins the answer: text, reasoning, a
// refusal, a tool call or an end.
func hasContent(ev *lyumen.Event) bool {
	for i := range ev.Choices {
		d := &ev.Choices[i]
		if d.Content != "" || d.Reasoning != "" || d.Refusal != "" || len(d.ToolCalls) > 0 || d.FinishReason != "" {
			return true
		}
	}
	return false
}
