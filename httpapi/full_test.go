package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/httpapi"
)

// fullRecorder is a Recorder that says it has no room (as a full spool
// does) while full is set.
type fullRecorder struct {
	kept
	full atomic.Bool
}

func (r *fullRecorder) Full() bool { return r.full.Load() }

// askedProvider counts the exchanges the upstream was asked for.
type askedProvider struct {
	embedFake
	asked atomic.Int32
}

func (p *askedProvider) Chat(ctx context.Context, req *lyumen.Request) (*lyumen.Response, error) {
	p.asked.Add(1)
	return p.embedFake.Chat(ctx, req)
}

func (p *askedProvider) ChatStream(ctx context.Context, req *lyumen.Request) (lyumen.Stream, error) {
	p.asked.Add(1)
	return p.embedFake.ChatStream(ctx, req)
}

func (p *askedProvider) Embed(ctx context.Context, req *lyumen.EmbedRequest) (*lyumen.EmbedResponse, error) {
	p.asked.Add(1)
	return p.embedFake.Embed(ctx, req)
}

// TestRecorderFull: while the Recorder is full every surface answers 503
// (Anthropic's: 529, overloaded) in its own envelope before the upstream is asked, records nothing and
// counts the refusal; once it has room the same request is served and
// recorded.
func TestRecorderFull(t *testing.T) {
	for _, tc := range []struct {
		name, path, body string
		anthropic        bool
	}{
		{"chat", "/v1/chat/completions", chatBody(false, "hi"), false},
		{"chat stream", "/v1/chat/completions", chatBody(true, "hi"), false},
		{"responses", "/v1/responses", `{"model":"gpt-test","input":"hi"}`, false},
		{"completions", "/v1/completions", `{"model":"gpt-test","prompt":"hi"}`, false},
		{"embeddings", "/v1/embeddings", `{"model":"gpt-test","input":"hi"}`, false},
		{"messages", "/v1/messages", `{"model":"gpt-test","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, true},
		{"messages stream", "/v1/messages", `{"model":"gpt-test","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &fullRecorder{}
			rec.full.Store(true)
			p := &askedProvider{embedFake: embedFake{fakeProvider: &fakeProvider{events: 2}}}
			var mu sync.Mutex
			var refused []string
			srv := httptest.NewServer(httpapi.NewServer(httpapi.Options{
				Provider: p,
				Catalog:  lyumen.NewCatalog([]lyumen.Model{{Name: limitedModel, Targets: []lyumen.Target{{Provider: "fake", Model: "m"}}}}),
				Recorder: rec,
				OnRefused: func(_ lyumen.Surface, reason string) {
					mu.Lock()
					refused = append(refused, reason)
					mu.Unlock()
				},
			}))
			defer srv.Close()
			post := func() (int, string) {
				req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+tc.path, strings.NewReader(tc.body))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Anthropic-Version", "2023-06-01")
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}

			status, body := post()
			want := http.StatusServiceUnavailable
			if tc.anthropic {
				want = 529 // Anthropic's "overloaded"
			}
			if status != want {
				t.Fatalf("full: status %d, want %d: %.300s", status, want, body)
			}
			if tc.anthropic {
				if typ := anthropicErrType([]byte(body)); typ != "overloaded_error" {
					t.Errorf("full: not an Anthropic overloaded_error: %s", body)
				}
			} else if typ, _ := decodeOpenAIErr(t, body); typ == "" {
				t.Errorf("full: not an OpenAI error envelope: %s", body)
			}
			if n := p.asked.Load(); n != 0 {
				t.Errorf("full: the upstream was asked %d times, want none", n)
			}
			if n := len(rec.all()); n != 0 {
				t.Errorf("full: %d records, want none", n)
			}
			mu.Lock()
			if diff := cmp.Diff([]string{"recorder_full"}, refused); diff != "" {
				t.Errorf("refusal metric (-want +got):\n%s", diff)
			}
			mu.Unlock()

			rec.full.Store(false)
			if status, body := post(); status != http.StatusOK {
				t.Fatalf("with room: status %d, want 200: %.300s", status, body)
			}
			if p.asked.Load() != 1 || len(rec.all()) != 1 {
				t.Errorf("with room: upstream asked %d times, %d records; want 1 and 1", p.asked.Load(), len(rec.all()))
			}
		})
	}
}

// TestRecorderFull_CountTokens: counting tokens records nothing, so a full
// Recorder does not refuse it.
func TestRecorderFull_CountTokens(t *testing.T) {
	rec := &fullRecorder{}
	rec.full.Store(true)
	srv := httptest.NewServer(httpapi.NewServer(httpapi.Options{
		Provider: &fakeProvider{},
		Catalog:  lyumen.NewCatalog([]lyumen.Model{{Name: limitedModel, Targets: []lyumen.Target{{Provider: "fake", Model: "m"}}}}),
		Recorder: rec,
	}))
	defer srv.Close()
	resp, err := srv.Client().Post(srv.URL+"/v1/messages/count_tokens", "application/json",
		strings.NewReader(`{"model":"gpt-test","messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("count_tokens with the Recorder full: %s %s; want 200", resp.Status, b)
	}
}
