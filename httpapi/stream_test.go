package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/httpapi"
)

// TestStream_HeadersGoWithTheFirstEvent checks when a stream's headers
// leave: with its first event when that comes within HeaderWait (one write,
// not two), and alone once HeaderWait has passed without one.
func TestStream_HeadersGoWithTheFirstEvent(t *testing.T) {
	for _, tc := range []struct {
		name       string
		headerWait time.Duration
		late       bool   // the upstream's first event waits for a flush (up to 10 s)
		want       string // what the client's connection sees first
	}{
		{"first event in time", time.Hour, false, "write"},
		{"first event late", time.Millisecond, true, "flush"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &opsWriter{ResponseRecorder: httptest.NewRecorder(), flushed: make(chan struct{})}
			var first <-chan struct{}
			if tc.late {
				first = w.flushed
			}
			h := httpapi.NewServer(httpapi.Options{
				Provider:   slowStart{first},
				Recorder:   &kept{},
				Catalog:    lyumen.NewCatalog([]lyumen.Model{{Name: limitedModel, Targets: []lyumen.Target{{Provider: "fake", Model: "m"}}}}),
				HeaderWait: tc.headerWait,
			})
			r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(chatBody(true, "hi")))
			h.ServeHTTP(w, r)
			ops := w.log()
			if w.Code != http.StatusOK || !strings.HasSuffix(w.Body.String(), "data: [DONE]\n\n") {
				t.Fatalf("status %d, body %q: want a whole stream", w.Code, w.Body)
			}
			// Headers are sent by the first write or flush that reaches
			// the connection.
			if i := slices.IndexFunc(ops, func(op string) bool { return op != "header" }); i < 0 || ops[i] != tc.want {
				t.Errorf("operations %v: the first to send the headers should be a %s", ops, tc.want)
			}
		})
	}
}

// opsWriter logs what a handler does to its response, in order, and
// closes flushed at its first flush.
type opsWriter struct {
	*httptest.ResponseRecorder
	flushed chan struct{}
	mu      sync.Mutex
	ops     []string
}

func (w *opsWriter) add(op string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if op == "flush" && !slices.Contains(w.ops, "flush") {
		close(w.flushed)
	}
	w.ops = append(w.ops, op)
}

func (w *opsWriter) log() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.ops)
}

func (w *opsWriter) WriteHeader(code int) { w.add("header"); w.ResponseRecorder.WriteHeader(code) }
func (w *opsWriter) Flush()               { w.add("flush"); w.ResponseRecorder.Flush() }
func (w *opsWriter) Write(b []byte) (int, error) {
	w.add("write")
	return w.ResponseRecorder.Write(b)
}

// slowStart streams two words, the first once first is closed (nil: at
// once), or after 10 s.
type slowStart struct{ first <-chan struct{} }

func (slowStart) Chat(context.Context, *lyumen.Request) (*lyumen.Response, error) {
	panic("not streamed")
}

func (p slowStart) ChatStream(ctx context.Context, req *lyumen.Request) (lyumen.Stream, error) {
	return &wordStream{ctx: ctx, first: p.first, words: []string{"hello", " world"}}, nil
}

type wordStream struct {
	ctx   context.Context
	first <-chan struct{}
	words []string
	n     int
}

func (s *wordStream) Next() (lyumen.Event, error) {
	if s.n == 0 && s.first != nil {
		select {
		case <-s.first:
		case <-time.After(10 * time.Second): // the test then fails: no flush came first
		case <-s.ctx.Done():
			return lyumen.Event{}, s.ctx.Err()
		}
	}
	if s.n == len(s.words) {
		return lyumen.Event{}, io.EOF
	}
	s.n++
	return lyumen.Event{ID: "c", Model: "m", Choices: []lyumen.ChoiceDelta{{Content: s.words[s.n-1]}}}, nil
}

func (s *wordStream) Close() error { return nil }
