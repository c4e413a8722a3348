package openai_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/golden"
	"github.com/lyumen/lyumen/openai"
)

// surfaceStream is what the stream encoders of the translated surfaces have
// in common.
type surfaceStream interface {
	Event(dst []byte, ev *lyumen.Event) []byte
	End(dst []byte, resp *lyumen.Response) []byte
	Fail(dst []byte, err error) []byte
}

// translated are the surfaces whose requests reach OpenAI-compatible
// upstreams in chat format, with their fixture directory.
var translated = []struct {
	dir    string
	native bool // the client sends legacy completions to /completions
	decode func([]byte) (*lyumen.Request, error)
	whole  func(*lyumen.Response, *lyumen.Request, time.Time) []byte
	stream func(*lyumen.Request, time.Time) surfaceStream
}{
	{
		dir:    "responses_openai",
		decode: openai.DecodeResponses,
		whole:  openai.EncodeResponse,
		stream: func(r *lyumen.Request, now time.Time) surfaceStream { return openai.NewResponsesStream(r, now) },
	},
	{
		dir:    "completions_openai",
		decode: openai.DecodeCompletions,
		whole: func(resp *lyumen.Response, r *lyumen.Request, now time.Time) []byte {
			return openai.EncodeCompletion(resp, r.Model, now)
		},
		stream: func(r *lyumen.Request, now time.Time) surfaceStream { return openai.NewCompletionsStream(r, now) },
	},
	{
		dir:    "completionsnative_openai",
		native: true,
		decode: openai.DecodeCompletions,
		whole: func(resp *lyumen.Response, r *lyumen.Request, now time.Time) []byte {
			return openai.EncodeCompletion(resp, r.Model, now)
		},
		stream: func(r *lyumen.Request, now time.Time) surfaceStream { return openai.NewCompletionsStream(r, now) },
	},
}

// TestTranslate runs the golden fixtures under testdata/<surface>_openai/.
// For each case, <case>.in is the client's request and <case>.upstream the
// answer of an OpenAI-compatible upstream (a chat.completion, or a chat SSE
// stream when the request streams; for completions sent as written
// (completionsnative_openai), the legacy API's own). The request goes through the decoder and the real
// Client to a fake upstream that replays the answer; <case>.request.golden
// is the body the upstream received and <case>.golden what the client gets
// back.
func TestTranslate(t *testing.T) {
	for _, surface := range translated {
		ins, err := filepath.Glob(filepath.Join("testdata", surface.dir, "*.in"))
		if err != nil || len(ins) == 0 {
			t.Fatalf("no fixtures in testdata/%s: %v", surface.dir, err)
		}
		for _, in := range ins {
			base := strings.TrimSuffix(in, ".in")
			t.Run(surface.dir+"/"+filepath.Base(base), func(t *testing.T) {
				body := mustRead(t, in)
				answer := mustRead(t, base+".upstream")
				req, err := surface.decode(body)
				if err != nil {
					t.Fatalf("decode: %v", err)
				}
				up := newReplay(t, req.Stream, answer)
				client := openai.NewClient(up.URL+"/v1", apiKey, nil, up.Client().Transport)
				client.SetNativeCompletions(surface.native)
				routed := *req // as the router hands it on
				routed.Model = targetModel

				var got []byte
				if req.Stream {
					got = replayStream(t, client, &routed, surface.stream(req, now))
				} else {
					resp, err := client.Chat(t.Context(), &routed)
					if err != nil {
						t.Fatalf("Chat: %v", err)
					}
					got = surface.whole(resp, req, now)
					if !json.Valid(got) {
						t.Fatalf("answer is not JSON:\n%s", got)
					}
				}
				golden.Check(t, base+".request.golden", up.received())
				golden.Check(t, base+".golden", got)
			})
		}
	}
}

// replayStream drives enc over the client's stream the way the exchange
// handler does: every event as it comes, then the end with the whole answer.
func replayStream(tb testing.TB, client *openai.Client, req *lyumen.Request, enc surfaceStream) []byte {
	tb.Helper()
	st, err := client.ChatStream(tb.Context(), req)
	if err != nil {
		tb.Fatalf("ChatStream: %v", err)
	}
	defer st.Close()
	var asm lyumen.Assembler
	var out []byte
	for {
		ev, err := st.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatalf("Next: %v", err)
		}
		asm.Add(&ev)
		out = enc.Event(out, &ev)
	}
	return enc.End(out, asm.Response())
}

// replay is a fake upstream that answers every request with one body.
type replay struct {
	*httptest.Server
	mu   sync.Mutex
	body []byte
}

func newReplay(tb testing.TB, stream bool, answer []byte) *replay {
	tb.Helper()
	r := &replay{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.body = b
		r.mu.Unlock()
		if stream {
			w.Header().Set("Content-Type", "text/event-stream")
		} else {
			w.Header().Set("Content-Type", "application/json")
		}
		w.Write(answer)
	}))
	tb.Cleanup(r.Close)
	return r
}

func (r *replay) received() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.body
}

func mustRead(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
