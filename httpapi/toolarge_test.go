package httpapi_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestTooLarge_Chunked: a body sent without a Content-Length (chunked)
// that grows past max_body_bytes while it is read is refused like one
// that announces its size: 413, in the route's own error envelope
// (request_too_large), counted as too_large, not recorded. The other
// oversized-body tests send a Content-Length, which readBody refuses
// before reading; only this one reaches its http.MaxBytesError path.
// A body of exactly the limit, chunked too, is served. Kills that path
// answering anything but KindTooLarge (a 400 "could not be read"), on
// every route that reads a body, and the limit being off by one.
func TestTooLarge_Chunked(t *testing.T) {
	const limit = 64 << 10 // newGateway's MaxBodyBytes
	for _, tc := range []struct {
		path, prefix, suffix string
		anthropic            bool
	}{
		{"/v1/chat/completions", `{"model":"gpt-test","messages":[{"role":"user","content":"`, `"}]}`, false},
		{"/v1/responses", `{"model":"gpt-test","input":"`, `"}`, false},
		{"/v1/completions", `{"model":"gpt-test","prompt":"`, `"}`, false},
		{"/v1/embeddings", `{"model":"gpt-test","input":"`, `"}`, false},
		{"/v1/messages", `{"model":"gpt-test","max_tokens":5,"messages":[{"role":"user","content":"`, `"}]}`, true},
		{"/v1/messages/count_tokens", `{"model":"gpt-test","messages":[{"role":"user","content":"`, `"}]}`, true},
	} {
		t.Run(tc.path, func(t *testing.T) {
			g := newGateway(t)
			// Valid JSON of size bytes: read whole, it would be a request
			// like any other.
			post := func(size int) (*http.Response, []byte) {
				t.Helper()
				body := tc.prefix + strings.Repeat("a", size-len(tc.prefix)-len(tc.suffix)) + tc.suffix
				req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, g.srv.URL+tc.path, strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				req.ContentLength = -1 // unknown: sent chunked
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+clientKey)
				req.Header.Set("X-Api-Key", clientKey)
				req.Header.Set("Anthropic-Version", "2023-06-01")
				resp, err := g.srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				return resp, b
			}
			resp, b := post(limit + 1)
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Errorf("status %s, want 413: %s", resp.Status, b)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if tc.anthropic {
				if anthropicErrType(b) != "request_too_large" {
					t.Errorf("not an Anthropic request_too_large error: %s", b)
				}
			} else if typ, code := decodeOpenAIErr(t, string(b)); typ != "invalid_request_error" || code != "request_too_large" {
				t.Errorf("OpenAI error type %q code %q, want invalid_request_error request_too_large: %s", typ, code, b)
			}
			if n := len(g.recs.all()); n != 0 {
				t.Errorf("%d records of a refused request", n)
			}
			g.mu.Lock()
			refused := append([]string(nil), g.refused...)
			g.mu.Unlock()
			if diff := cmp.Diff([]string{"too_large"}, refused); diff != "" {
				t.Errorf("refusal metric (-want +got):\n%s", diff)
			}
			// A body of exactly the limit is taken.
			if resp, b := post(limit); resp.StatusCode != http.StatusOK {
				t.Errorf("a body of exactly max_body_bytes: status %s, want 200: %.300s", resp.Status, b)
			}
		})
	}
}
