package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/anthropic"
	"github.com/lyumen/lyumen/gemini"
	"github.com/lyumen/lyumen/httpapi"
	"github.com/lyumen/lyumen/internal/golden"
	oai "github.com/lyumen/lyumen/openai"
	"github.com/lyumen/lyumen/upstream"
)

// translationModel is the model every upstream of the fixtures is asked for.
const translationModel = "upstream-model"

// translationNow is the time the gateway reads from its clock.
var translationNow = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// translationRoutes are the surfaces' paths, by the name fixture
// directories give them (the names anthropic/testdata uses).
var translationRoutes = map[string]string{
	"openai":      "/v1/chat/completions",
	"responses":   "/v1/responses",
	"completions": "/v1/completions",
	"anthropic":   "/v1/messages",
}

// translationUpstreams build each upstream's real client for an upstream at
// base, and say at which address it is called.
var translationUpstreams = map[string]struct {
	client func(base string, rt http.RoundTripper) lyumen.Provider
	path   func(stream bool) string
}{
	"openai": {
		client: func(base string, rt http.RoundTripper) lyumen.Provider {
			return oai.NewClient(base+"/v1", operatorKey, nil, rt)
		},
		path: func(bool) string { return "/v1/chat/completions" },
	},
	"anthropic": {
		client: func(base string, rt http.RoundTripper) lyumen.Provider {
			return anthropic.NewClient(base, operatorKey, nil, rt)
		},
		path: func(bool) string { return "/v1/messages" },
	},
	"gemini": {
		client: func(base string, rt http.RoundTripper) lyumen.Provider {
			return gemini.NewClient(base+"/v1beta", operatorKey, nil, rt)
		},
		path: func(stream bool) string {
			if stream {
				return "/v1beta/models/" + translationModel + ":streamGenerateContent?alt=sse"
			}
			return "/v1beta/models/" + translationModel + ":generateContent"
		},
	},
}

// TestTranslation runs the golden fixtures of testdata/<surface>_<upstream>/
// through the whole gateway: the client's body (<case>.request.in) goes to
// the surface's route, the router and the upstream's real client, and a
// fake upstream answers with <case>.reply.in. The goldens are what the
// upstream was sent (<case>.upstream.golden), what the client got back
// (<case>.response.golden) and what was recorded (<case>.record.golden).
// A case without a reply is one the gateway refuses with a 400 in the
// surface's envelope; it has no upstream golden, and no record golden when
// it is refused before it is recorded.
//
// The pairs anthropic/testdata and openai/testdata already cover at the
// codec level are not repeated here.
func TestTranslation(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*_*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no translation fixtures: %v", err)
	}
	for _, dir := range dirs {
		sname, uname, _ := strings.Cut(filepath.Base(dir), "_")
		route, ok := translationRoutes[sname]
		up, upOK := translationUpstreams[uname]
		if !ok || !upOK {
			t.Fatalf("%s: unknown surface or upstream", dir)
		}
		cases, _ := filepath.Glob(filepath.Join(dir, "*.request.in"))
		for _, in := range cases {
			name := strings.TrimSuffix(in, ".request.in")
			t.Run(strings.TrimPrefix(name, "testdata/"), func(t *testing.T) {
				reply, err := os.ReadFile(name + ".reply.in")
				if err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
				fake := &cannedUpstream{reply: reply}
				srv := httptest.NewServer(fake)
				t.Cleanup(srv.Close)
				recs := &records{}
				h := translationGateway(up.client(srv.URL, srv.Client().Transport), recs)

				req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, route, bytes.NewReader(mustReadFile(t, in)))
				req.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)

				var stream struct{ Stream bool }
				json.Unmarshal(mustReadFile(t, in), &stream)
				wantStatus := http.StatusOK
				if reply == nil {
					wantStatus = http.StatusBadRequest
				}
				if w.Code != wantStatus {
					t.Errorf("status %d, want %d", w.Code, wantStatus)
				}
				uri, sent := fake.seen()
				if reply == nil && uri != "" {
					t.Errorf("the upstream was called: %s", uri)
				}
				if reply != nil && uri != up.path(stream.Stream) {
					t.Errorf("upstream called at %s, want %s", uri, up.path(stream.Stream))
				}
				if uri != "" {
					golden.Check(t, name+".upstream.golden", sent)
				}
				golden.Check(t, name+".response.golden", w.Body.Bytes())
				if all := recs.all(); len(all) > 0 {
					golden.Check(t, name+".record.golden", recordView(t, all[0]))
				} else if _, err := os.Stat(name + ".record.golden"); err == nil {
					t.Error("nothing was recorded")
				}
			})
		}
	}
}

// translationGateway is the public handler with a fixed clock and ids, in
// front of p under every public model name the fixtures use.
func translationGateway(p lyumen.Provider, recs *records) http.Handler {
	var models []lyumen.Model
	for _, name := range []string{"gpt-public", "claude-public", publicModel} {
		models = append(models, lyumen.Model{Name: name, Targets: []lyumen.Target{{Provider: "up", Model: translationModel}}})
	}
	catalog := lyumen.NewCatalog(models)
	logger := slog.New(slog.DiscardHandler)
	return httpapi.NewServer(httpapi.Options{
		Logger:   logger,
		Provider: upstream.New(catalog, map[string]lyumen.Provider{"up": p}, logger),
		Catalog:  catalog,
		Recorder: recs,
		Now:      func() time.Time { return translationNow },
		NewID:    func() string { return "rec-1" },
	})
}

// recordView is the part of a record a translation decides.
func recordView(tb testing.TB, rec *lyumen.Record) []byte {
	tb.Helper()
	b, err := json.Marshal(struct {
		Status       int                  `json:"status"`
		Completeness lyumen.Completeness  `json:"completeness"`
		Error        string               `json:"error,omitempty"`
		ServedModel  string               `json:"served_model,omitempty"`
		Usage        lyumen.Usage         `json:"usage"`
		Conversation *lyumen.Conversation `json:"conversation"`
		Response     *lyumen.Response     `json:"response"`
	}{rec.Status, rec.Completeness, rec.Error, rec.ServedModel, rec.Usage, rec.Conversation, rec.Response})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// cannedUpstream answers every request with one body, an SSE stream when
// it looks like one, and keeps the last request's address and body.
type cannedUpstream struct {
	reply []byte
	mu    sync.Mutex
	uri   string
	body  []byte
}

func (c *cannedUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	c.uri, c.body = r.URL.RequestURI(), body
	c.mu.Unlock()
	ct := "application/json"
	if bytes.HasPrefix(c.reply, []byte("data:")) || bytes.HasPrefix(c.reply, []byte("event:")) {
		ct = "text/event-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Write(c.reply)
}

// seen returns the address and body of the last request.
func (c *cannedUpstream) seen() (uri string, body []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.uri, c.body
}

func mustReadFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
