package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	anthsdk "github.com/anthropics/anthropic-sdk-go/v2"
	anthssestream "github.com/anthropics/anthropic-sdk-go/v2/packages/ssestream"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/ssestream"

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

// TestStream_HeaderTimerStopsBeforeTheHandlerWrites: once the handler
// writes (an event, or the end of a stream that had none), HeaderWait's
// timer sends nothing, however long the write takes: it would send the
// headers again after a body had begun, from its own goroutine, racing the
// handler's writes.
func TestStream_HeaderTimerStopsBeforeTheHandlerWrites(t *testing.T) {
	for _, tc := range []struct {
		name  string
		words []string
	}{
		{"the first write is an event", []string{"hello", " world"}},
		{"the first write is the end", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { // fake clock: the slow write lets the timer's time come
				w := &opsWriter{ResponseRecorder: httptest.NewRecorder(), flushed: make(chan struct{}), writeTakes: time.Second}
				h := httpapi.NewServer(httpapi.Options{
					Provider:   wordsProvider(tc.words),
					Recorder:   &kept{},
					Catalog:    lyumen.NewCatalog([]lyumen.Model{{Name: limitedModel, Targets: []lyumen.Target{{Provider: "fake", Model: "m"}}}}),
					HeaderWait: 100 * time.Millisecond,
				})
				h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(chatBody(true, "hi"))))
				ops := w.log()
				if i := slices.Index(ops, "write"); i < 0 || slices.Contains(ops[i:], "header") {
					t.Errorf("operations %v: the headers were sent after the first write", ops)
				}
			})
		})
	}
}

// wordsProvider streams its words at once.
type wordsProvider []string

func (wordsProvider) Chat(context.Context, *lyumen.Request) (*lyumen.Response, error) {
	panic("not streamed")
}

func (p wordsProvider) ChatStream(ctx context.Context, req *lyumen.Request) (lyumen.Stream, error) {
	return &wordStream{ctx: ctx, words: p}, nil
}

// opsWriter logs what a handler does to its response, in order, and
// closes flushed at its first flush. Each write takes writeTakes, as to a
// slow client.
type opsWriter struct {
	*httptest.ResponseRecorder
	flushed    chan struct{}
	writeTakes time.Duration
	mu         sync.Mutex
	ops        []string
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
	time.Sleep(w.writeTakes)
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

// TestStream_SentBeforeTheUpstreamWaits checks that what a stream has
// written reaches the client before the gateway waits on its upstream,
// also when the upstream's last events before the wait give the client
// nothing (a keep-alive comment, a ping, reasoning a surface does not
// show). The upstream sends its first part, then waits until the client
// has seen an event, or five seconds.
func TestStream_SentBeforeTheUpstreamWaits(t *testing.T) {
	chunk := func(delta string) string {
		return `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":` + delta + `,"finish_reason":null}]}` + "\n\n"
	}
	const openaiEnd = `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"!"},"finish_reason":"stop"}]}` + "\n\ndata: [DONE]\n\n"
	event := func(name, data string) string { return "event: " + name + "\ndata: " + data + "\n\n" }
	// Before its first words a stream may still fall back (see
	// upstream.fallback), so what comes before them is held: the wait
	// here follows them.
	anthropicFirst := event("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`) +
		event("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}`)
	anthropicEnd := event("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"!"}}`) +
		event("content_block_stop", `{"type":"content_block_stop","index":0}`) +
		event("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":1}}`) +
		event("message_stop", `{"type":"message_stop"}`)
	messageStart := event("message_start", `{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":1}}}`)
	for _, tc := range []struct {
		name, upstream, path string
		first, rest          string
	}{
		{"a keep-alive comment after a chunk", "openai", "/v1/chat/completions",
			chunk(`{"role":"assistant","content":"Hi"}`) + ": OPENROUTER PROCESSING\n\n", openaiEnd},
		{"reasoning a translated stream does not show", "openai", "/v1/messages",
			chunk(`{"role":"assistant","content":""}`) + chunk(`{"content":null,"reasoning_content":"Let me think"}`), openaiEnd},
		{"a ping after the first words", "anthropic", "/v1/messages",
			messageStart + anthropicFirst + event("ping", `{"type": "ping"}`), anthropicEnd},
		{"a ping, translated", "anthropic", "/v1/chat/completions",
			messageStart + anthropicFirst + event("ping", `{"type": "ping"}`), anthropicEnd},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen := make(chan struct{})
			var gaveUp atomic.Bool
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "text/event-stream")
				io.WriteString(w, tc.first)
				w.(http.Flusher).Flush()
				select {
				case <-seen:
				case <-time.After(5 * time.Second):
					gaveUp.Store(true)
				}
				io.WriteString(w, tc.rest)
			}))
			defer up.Close()
			gw := httptest.NewServer(translationGateway(translationUpstreams[tc.upstream].client(up.URL, up.Client().Transport), &records{}))
			defer gw.Close()

			req, _ := http.NewRequest(http.MethodPost, gw.URL+tc.path, strings.NewReader(
				`{"model":"`+publicModel+`","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hi"}]}`))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				if strings.HasPrefix(sc.Text(), "data:") {
					close(seen)
					break
				}
			}
			io.Copy(io.Discard, resp.Body)
			if gaveUp.Load() {
				t.Error("the client saw no event while the upstream waited five seconds")
			}
		})
	}
}

// TestStream_KeepAliveWhileReasoningIsNotShown: a surface that does not
// show a model's reasoning would send nothing while the model reasons, for
// minutes with some, and a proxy in between may cut a silent connection.
// A comment goes out at most every ten seconds of it (the gateway's clock
// moves three seconds a reading here), and the SDKs read the stream as if
// it were not there.
func TestStream_KeepAliveWhileReasoningIsNotShown(t *testing.T) {
	const thoughts = 20
	for _, tc := range []struct{ path, body string }{
		{"/v1/chat/completions", chatBody(true, "hi")},
		{"/v1/messages", `{"model":"` + limitedModel + `","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}`},
	} {
		t.Run(tc.path, func(t *testing.T) {
			var clock atomic.Int64
			rec := &kept{}
			h := httpapi.NewServer(httpapi.Options{
				Provider: thinker{thoughts},
				Recorder: rec,
				Catalog:  lyumen.NewCatalog([]lyumen.Model{{Name: limitedModel, Targets: []lyumen.Target{{Provider: "fake", Model: "m"}}}}),
				Now:      func() time.Time { return time.Unix(clock.Add(3), 0) },
			})
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, tc.path, strings.NewReader(tc.body)))
			body := w.Body.String()
			if n := strings.Count(body, ": keep-alive\n\n"); n < thoughts*3/10-1 || n > thoughts*3/10+1 {
				t.Errorf("%d keep-alives for %d thoughts, each 3 s: want one every 10 s\n%s", n, thoughts, body)
			}
			if got := sdkText(t, tc.path, w.Body.Bytes()); got != "answer" {
				t.Errorf("the SDK read %q, want the answer alone\n%s", got, body)
			}
			if r := rec.wait(t, 1)[0]; r.Completeness != lyumen.Complete || r.Response.Choices[0].Message.Reasoning == "" {
				t.Errorf("record: completeness %s, reasoning %q: want complete, with the reasoning", r.Completeness, r.Response.Choices[0].Message.Reasoning)
			}
		})
	}
}

// thinker streams n fragments of reasoning, then an answer.
type thinker struct{ n int }

func (thinker) Chat(context.Context, *lyumen.Request) (*lyumen.Response, error) {
	panic("not streamed")
}

func (p thinker) ChatStream(context.Context, *lyumen.Request) (lyumen.Stream, error) {
	return &thoughtStream{n: p.n}, nil
}

type thoughtStream struct{ n, i int }

func (s *thoughtStream) Next() (lyumen.Event, error) {
	s.i++
	switch {
	case s.i <= s.n:
		return lyumen.Event{ID: "c", Model: "m", Choices: []lyumen.ChoiceDelta{{Reasoning: "thought "}}}, nil
	case s.i == s.n+1:
		return lyumen.Event{ID: "c", Model: "m", Choices: []lyumen.ChoiceDelta{{Content: "answer", FinishReason: "stop"}}}, nil
	}
	return lyumen.Event{}, io.EOF
}

func (s *thoughtStream) Close() error { return nil }

// sdkText is the text of a stream as the official SDK of path's API reads it.
func sdkText(t *testing.T, path string, body []byte) string {
	t.Helper()
	res := &http.Response{Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: io.NopCloser(bytes.NewReader(body))}
	var text strings.Builder
	if path == "/v1/messages" {
		s := anthssestream.NewStream[anthsdk.MessageStreamEventUnion](anthssestream.NewDecoder(res), nil)
		var m anthsdk.Message
		for s.Next() {
			if err := m.Accumulate(s.Current()); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		for _, b := range m.Content {
			text.WriteString(b.Text)
		}
		return text.String()
	}
	s := ssestream.NewStream[openai.ChatCompletionChunk](ssestream.NewDecoder(res), nil)
	for s.Next() {
		for _, c := range s.Current().Choices {
			text.WriteString(c.Delta.Content)
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return text.String()
}

// TestStream_ClientLeavesBeforeItsHeaders: a client that leaves after its
// stream opened but before anything went out, headers included, was sent
// no status: its record says so (499), as for one that left before the
// stream opened, not the 200 that never left.
func TestStream_ClientLeavesBeforeItsHeaders(t *testing.T) {
	recs := &records{}
	h := httpapi.NewServer(httpapi.Options{
		Provider:   slowStart{make(chan struct{})}, // the first word never comes
		Recorder:   recs,
		Catalog:    lyumen.NewCatalog([]lyumen.Model{{Name: limitedModel, Targets: []lyumen.Target{{Provider: "fake", Model: "m"}}}}),
		HeaderWait: time.Hour,
	})
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // the client is gone when the stream waits for its first word
	r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/v1/chat/completions", strings.NewReader(chatBody(true, "hi")))
	h.ServeHTTP(httptest.NewRecorder(), r)
	rec := recs.wait(t, 1)
	if rec.Status != 499 || rec.Completeness != lyumen.ClientDisconnected {
		t.Errorf("record: status %d, completeness %q; want 499, %q", rec.Status, rec.Completeness, lyumen.ClientDisconnected)
	}
}
