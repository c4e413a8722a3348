package httpapi_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen/httpapi"
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

// TestTooLarge_AnsweredBeforeTheBody: a request whose Content-Length is
// over max_body_bytes is answered 413 at once, before any of its body is
// sent, and the connection closed; with "Expect: 100-continue" the client
// is never told to go on and send it (RFC 9110 §10.1.1: that is what the
// header is for). net/http does this by itself when it recognises the
// request's body as its own; harden's wrapper around the body used to hide
// it, so net/http sent "100 Continue" and waited for 256 KiB of a body it
// would throw away, and a client that had sent only its headers got no
// answer until the read timeout cut it. Kills harden putting its wrapper
// in the Request that net/http keeps.
func TestTooLarge_AnsweredBeforeTheBody(t *testing.T) {
	const limit = 64 << 10 // newGateway's MaxBodyBytes
	for _, tc := range []struct {
		name, headers string
	}{
		{"Content-Length", ""},
		{"Expect: 100-continue", "Expect: 100-continue\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGateway(t)
			conn, err := net.Dial("tcp", g.srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			// A guard against a hang, not a measure: the answer comes at once.
			conn.SetDeadline(time.Now().Add(20 * time.Second))
			fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n%sContent-Length: %d\r\n\r\n",
				tc.headers, 100*limit)
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no answer before the body: %v", err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %s, want 413 before any body: %s", resp.Status, b)
			}
			if typ, code := decodeOpenAIErr(t, string(b)); typ != "invalid_request_error" || code != "request_too_large" {
				t.Errorf("error type %q code %q: %s", typ, code, b)
			}
			if !resp.Close {
				t.Error("the connection is kept open for a body that will not be read")
			}
		})
	}
}

// TestTooLarge_ManyValues: a body within max_body_bytes made of a great
// many tiny objects or arrays ({} is 3 bytes; decoded, a message is some
// hundred) is refused 413 before it is decoded, on every route that reads
// one: a 16 MiB body of empty messages took 1.9 GB to decode, before any
// rate limit, so a few such requests at once could exhaust the server's
// memory. Kills readBody not bounding the objects and arrays of a body.
func TestTooLarge_ManyValues(t *testing.T) {
	const n = 1 << 20 // well past the bound; 3 MiB of JSON
	for _, tc := range []struct {
		path, prefix, suffix string
		anthropic            bool
	}{
		{"/v1/chat/completions", `{"model":"gpt-test","messages":[`, `]}`, false},
		{"/v1/chat/completions", `{"model":"gpt-test","messages":[{"role":"user","content":[`, `]}]}`, false},
		{"/v1/responses", `{"model":"gpt-test","input":[`, `]}`, false},
		{"/v1/completions", `{"model":"gpt-test","prompt":[`, `]}`, false},
		{"/v1/embeddings", `{"model":"gpt-test","input":[`, `]}`, false},
		{"/v1/messages", `{"model":"gpt-test","max_tokens":5,"messages":[`, `]}`, true},
		{"/v1/messages/count_tokens", `{"model":"gpt-test","messages":[`, `]}`, true},
	} {
		t.Run(tc.path, func(t *testing.T) {
			g := newLimited(t, httpapi.Options{MaxBodyBytes: 16 << 20}, embedFake{fakeProvider: &fakeProvider{}})
			body := tc.prefix + strings.Repeat("{},", n-1) + "[]" + tc.suffix
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, g.srv.URL+tc.path, strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Anthropic-Version", "2023-06-01")
			resp, err := g.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %s, want 413: %.300s", resp.Status, b)
			}
			if tc.anthropic {
				if anthropicErrType(b) != "request_too_large" {
					t.Errorf("not an Anthropic request_too_large error: %s", b)
				}
			} else if typ, code := decodeOpenAIErr(t, string(b)); typ != "invalid_request_error" || code != "request_too_large" {
				t.Errorf("OpenAI error type %q code %q: %s", typ, code, b)
			}
			if diff := cmp.Diff([]string{"too_large"}, g.refusals()); diff != "" {
				t.Errorf("refusal metric (-want +got):\n%s", diff)
			}
		})
	}
}
