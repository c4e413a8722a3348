package httpapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/httpapi"
)

// progressLog is a ProgressRecorder that notes each progress, with the
// answer it held, and the record, in the response writer's operations.
type progressLog struct {
	w   *opsWriter
	err error // Progress's, when set
}

func (p *progressLog) Progress(ctx context.Context, rec *lyumen.Record) error {
	content := ""
	if rec.Response != nil && len(rec.Response.Choices) > 0 {
		content = rec.Response.Choices[0].Message.Content
	}
	p.w.add("progress " + content)
	return p.err
}

func (p *progressLog) Record(ctx context.Context, rec *lyumen.Record) error {
	p.w.add("record " + string(rec.Completeness))
	return nil
}

// timedStream streams words, each after its wait.
type timedStream struct {
	words []string
	waits []time.Duration
	n     int
}

func (s *timedStream) Next() (lyumen.Event, error) {
	if s.n == len(s.words) {
		return lyumen.Event{}, io.EOF
	}
	time.Sleep(s.waits[s.n])
	s.n++
	return lyumen.Event{ID: "c", Model: "m", Choices: []lyumen.ChoiceDelta{{Content: s.words[s.n-1]}}}, nil
}

func (s *timedStream) Close() error { return nil }

type timedProvider struct{ stream func() lyumen.Stream }

func (timedProvider) Chat(context.Context, *lyumen.Request) (*lyumen.Response, error) {
	panic("not streamed")
}

func (p timedProvider) ChatStream(context.Context, *lyumen.Request) (lyumen.Stream, error) {
	return p.stream(), nil
}

// TestStream_Progress: a stream's record so far is handed to a
// ProgressRecorder before the first byte of the answer goes out, and then
// again at most once a second, each holding the answer the client is about
// to have; the record ends it. A gateway that dies midway then leaves a
// record of what its client was sent. Kills a progress taken after the
// first write, one per event, or one that misses the event being sent.
func TestStream_Progress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) { // fake clock: the waits take no time
		w := &opsWriter{ResponseRecorder: httptest.NewRecorder(), flushed: make(chan struct{})}
		h := httpapi.NewServer(httpapi.Options{
			Provider: timedProvider{func() lyumen.Stream {
				return &timedStream{words: []string{"a", "b", "c", "d"},
					waits: []time.Duration{0, 300 * time.Millisecond, 800 * time.Millisecond, 2 * time.Second}}
			}},
			Recorder: &progressLog{w: w},
			Catalog:  lyumen.NewCatalog([]lyumen.Model{{Name: limitedModel, Targets: []lyumen.Target{{Provider: "fake", Model: "m"}}}}),
		})
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(chatBody(true, "hi"))))
		if w.Code != http.StatusOK || !strings.HasSuffix(w.Body.String(), "data: [DONE]\n\n") {
			t.Fatalf("status %d, body %q: want a whole stream", w.Code, w.Body)
		}
		ops := w.log()
		if p, wr := slices.IndexFunc(ops, isProgress), slices.Index(ops, "write"); p < 0 || p > wr {
			t.Errorf("operations %v: the first progress must come before the first write", ops)
		}
		var got []string
		for _, op := range ops {
			if isProgress(op) || strings.HasPrefix(op, "record") {
				got = append(got, op)
			}
		}
		// "b" comes 0.3 s after the first progress, "c" at 1.1 s, "d" 2 s later.
		want := []string{"progress a", "progress abc", "progress abcd", "record complete"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("progress and record (-want +got):\n%s", diff)
		}
	})
}

func isProgress(op string) bool { return strings.HasPrefix(op, "progress") }

// TestStream_ProgressRefused: a stream whose first progress cannot be
// kept is not served, as a whole answer that cannot be recorded is not: the
// client gets the error's status in the API's envelope and none of the
// answer. Kills serving on regardless.
func TestStream_ProgressRefused(t *testing.T) {
	w := &opsWriter{ResponseRecorder: httptest.NewRecorder(), flushed: make(chan struct{})}
	h := httpapi.NewServer(httpapi.Options{
		Provider: timedProvider{func() lyumen.Stream {
			return &timedStream{words: []string{"secret answer"}, waits: []time.Duration{0}}
		}},
		Recorder: &progressLog{w: w, err: errors.New("disk full")},
		Catalog:  lyumen.NewCatalog([]lyumen.Model{{Name: limitedModel, Targets: []lyumen.Target{{Provider: "fake", Model: "m"}}}}),
	})
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(chatBody(true, "hi"))))
	body := w.Body.String()
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(body, `"error"`) || !strings.Contains(body, "cannot record") {
		t.Errorf("status %d, body %q: want a 503 in the OpenAI envelope", w.Code, body)
	}
	if strings.Contains(body, "secret answer") {
		t.Errorf("body %q: the answer went out unrecorded", body)
	}
	if ops := w.log(); !slices.Contains(ops, "record upstream_refused") {
		t.Errorf("operations %v: want the exchange recorded as refused", ops)
	}
}

// readyStream is a timedStream whose events are all buffered already.
type readyStream struct{ timedStream }

func (*readyStream) Ready() bool { return true }

// TestStream_ProgressOnlyBeforeBytesLeave: the first progress goes before
// the first of the answer is written; after it, while an upstream's events
// wait in its buffer, the gateway writes on without flushing, and nothing
// reaches the client until net/http's 2 KiB buffer fills: a later progress
// is taken only before the write that would fill it. Kills a progress at
// every write, and a write past the buffer without one.
func TestStream_ProgressOnlyBeforeBytesLeave(t *testing.T) {
	big := strings.Repeat("x", 1500)
	for _, tc := range []struct {
		name  string
		words []string
		want  []string
	}{
		{"within the buffer", []string{"a", "b", "c"}, []string{"progress a", "write", "write", "write", "record complete"}},
		{"past the buffer", []string{big, big, big}, []string{"progress " + big, "write", "progress " + big + big, "write", "progress " + big + big + big, "write", "record complete"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { // fake clock: each word comes 1.1 s after the last, a progress due each time
				w := &opsWriter{ResponseRecorder: httptest.NewRecorder(), flushed: make(chan struct{})}
				h := httpapi.NewServer(httpapi.Options{
					Provider: timedProvider{func() lyumen.Stream {
						return &readyStream{timedStream{words: tc.words, waits: slices.Repeat([]time.Duration{1100 * time.Millisecond}, len(tc.words))}}
					}},
					Recorder: &progressLog{w: w},
					Catalog:  lyumen.NewCatalog([]lyumen.Model{{Name: limitedModel, Targets: []lyumen.Target{{Provider: "fake", Model: "m"}}}}),
				})
				h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(chatBody(true, "hi"))))
				if w.Code != http.StatusOK || !strings.HasSuffix(w.Body.String(), "data: [DONE]\n\n") {
					t.Fatalf("status %d, body %q: want a whole stream", w.Code, w.Body)
				}
				var got []string
				for _, op := range w.log() {
					if op == "header" || op == "flush" {
						continue
					}
					got = append(got, op)
					if strings.HasPrefix(op, "record") {
						break // the end's own write follows
					}
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("writes, progress and record (-want +got):\n%s", diff)
				}
			})
		})
	}
}
