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
// client sees one target's stream only. The target's outcome, for its
// breaker and the record's attempts, is settled then too.
//
// The wait is inside Next, after the surface has sent its headers on a
// timer of its own: a slow first token does not hold them.
type fallback struct {
	ctx context.Context
	r   *route[lyumen.Stream]
	s   lyumen.Stream
	at  asked // the target serving s, while unsettled

	settled bool
	held    []lyumen.Event // copies, passed on once content came
	sent    int            // of held
	// What ended the holding, passed on after held: the first event with
	// content, or the stream's end or failure.
	last    lyumen.Event
	lastErr error
	hasLast bool
}

// maxHeld and maxHold bound the holding: an event past either is passed
// on, with those held, and the stream no longer falls back. An upstream
// slow to begin sends pings meanwhile (Anthropic's), and a client's proxy
// may cut a connection silent for long (Cloudflare's waits 100 s).
const (
	maxHeld = 8
	maxHold = 10 * time.Second
)

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
			f.held = append(f.held, clone(ev))
			continue
		case err == nil || errors.Is(err, io.EOF):
			f.r.p.served(f.r.req, f.at)
		case f.r.failed(f.ctx, f.at, err):
			f.s.Close()
			s, at, rerr := f.r.run(f.ctx)
			if rerr == nil {
				f.s, f.at, f.held = s, at, f.held[:0]
				continue
			}
			f.s, f.held, err = nil, nil, rerr // the first target's events go with it
		}
		f.settled = true
		f.last, f.lastErr, f.hasLast = ev, err, true
		return f.pass()
	}
}

// holds says whether one more event without content may be held.
func (f *fallback) holds() bool {
	return len(f.held) < maxHeld && f.r.p.o.Now().Sub(f.at.start) < maxHold
}

// pass returns the held events, then what ended the holding, then the
// rest of the stream.
func (f *fallback) pass() (lyumen.Event, error) {
	if f.sent < len(f.held) {
		f.sent++
		return f.held[f.sent-1], nil
	}
	if f.hasLast {
		f.held, f.hasLast = nil, f.lastErr != nil // an error stays
		return f.last, f.lastErr
	}
	return f.s.Next()
}

// Ready reports whether Next would not wait on the network, for a caller
// that flushes once per batch of events (see sse.Reader.Ready).
func (f *fallback) Ready() bool {
	if !f.settled {
		return false
	}
	if f.sent < len(f.held) || f.hasLast {
		return true
	}
	r, ok := f.s.(interface{ Ready() bool })
	return ok && r.Ready()
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

// clone copies what of ev a stream may reuse at its next event.
func clone(ev lyumen.Event) lyumen.Event {
	ev.Raw = slices.Clone(ev.Raw)
	ev.Choices = slices.Clone(ev.Choices)
	for i := range ev.Choices {
		ev.Choices[i].ToolCalls = slices.Clone(ev.Choices[i].ToolCalls)
	}
	if ev.Usage != nil {
		u := *ev.Usage
		ev.Usage = &u
	}
	return ev
}
