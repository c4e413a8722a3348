package upstreamhttp_test

import (
	"cmp"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/upstreamhttp"
)

func TestPost(t *testing.T) {
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		if r.URL.Path == "/busy" {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"error":"slow down"}`))
			return
		}
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()

	// The credential set by the client wins over a configured header of
	// the same name; an empty one is not sent.
	h := upstreamhttp.Header(map[string]string{"x-api-key": "configured", "X-Title": "lyumen"}, "X-Api-Key", "operator", "Anthropic-Beta", "")
	resp, err := upstreamhttp.Post(t.Context(), srv.Client().Transport, srv.URL+"/ok", h, []byte(`{}`), true, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for k, want := range map[string]string{"X-Api-Key": "operator", "X-Title": "lyumen", "Content-Type": "application/json",
		"Accept": "text/event-stream", "Anthropic-Beta": ""} {
		if v := got.Get(k); v != want {
			t.Errorf("%s: %q, want %q", k, v, want)
		}
	}
	if h.Get("Accept") != "" {
		t.Error("Post changed the client's header")
	}

	var status int
	var body string
	_, err = upstreamhttp.Post(t.Context(), srv.Client().Transport, srv.URL+"/busy", h, []byte(`{}`), false, func(s int, b []byte) *lyumen.Error {
		status, body = s, string(b)
		return &lyumen.Error{Kind: lyumen.KindUpstream, Status: s}
	})
	e, ok := errors.AsType[*lyumen.Error](err)
	if !ok {
		t.Fatalf("err = %v, want *lyumen.Error", err)
	}
	if e.RetryAfter != 7*time.Second || status != 429 || body != `{"error":"slow down"}` {
		t.Errorf("err = %v (retry after %v), decode saw %d %q", err, e.RetryAfter, status, body)
	}
	if got.Get("Accept") != "application/json" {
		t.Errorf("Accept %q for a whole answer", got.Get("Accept"))
	}
}

// TestPost_RedirectNotFollowed: an upstream's redirect is its answer. The
// client passed is httptest's, which follows redirects like any
// http.Client; Post must not, or the operator's key goes to the address
// the upstream names.
func TestPost_RedirectNotFollowed(t *testing.T) {
	var followed atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { followed.Add(1) }))
	defer other.Close()
	for _, code := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		srv := httptest.NewServer(http.RedirectHandler(other.URL+"/elsewhere", code))
		h := upstreamhttp.Header(nil, "X-Api-Key", "operator")
		_, err := upstreamhttp.Post(t.Context(), srv.Client().Transport, srv.URL, h, []byte(`{}`), false, func(s int, b []byte) *lyumen.Error {
			return &lyumen.Error{Kind: lyumen.KindUpstream, Status: s}
		})
		srv.Close()
		if e, ok := errors.AsType[*lyumen.Error](err); !ok || e.Status != code {
			t.Errorf("a %d came back as %v, want the upstream's refusal with its status", code, err)
		}
	}
	if n := followed.Load(); n != 0 {
		t.Errorf("%d redirects followed", n)
	}
}

// TestPost_ErrorWithoutCredentials: an upstream's error message reaches
// the client, the logs and the record, so the operator's key must not be
// in it: a 401's message, which may quote the key (OpenAI quotes it masked
// but for its ends), is replaced, and any other has the key cut out.
func TestPost_ErrorWithoutCredentials(t *testing.T) {
	const key = "sk-operator-Zq81xW"
	for _, tc := range []struct {
		name   string
		status int
		header http.Header
		quote  string // what the upstream's message quotes
		want   string
		as     int // the status the decoder reads the error as; 0: the same
	}{
		{"401, masked", 401, upstreamhttp.Header(nil, "Authorization", "Bearer "+key), "sk-ope******Zq81xW", "upstream: the upstream refused the gateway's credentials", 0},
		{"500, bearer", 500, upstreamhttp.Header(nil, "Authorization", "Bearer "+key), key, "upstream: bad key [credential] here", 0},
		{"400, x-api-key", 400, upstreamhttp.Header(nil, "X-Api-Key", key), key, "upstream: bad key [credential] here", 0},
		{"403, x-goog-api-key", 403, upstreamhttp.Header(nil, "X-Goog-Api-Key", key), key, "upstream: bad key [credential] here", 0},
		{"a short header value is left", 500, upstreamhttp.Header(nil, "X-Api-Key", "bad"), "key", "upstream: bad key key here", 0},
		{"a 400 that names a refused key (Google's API_KEY_INVALID)", 400, upstreamhttp.Header(nil, "X-Goog-Api-Key", key), "API key not valid", "upstream: the upstream refused the gateway's credentials", 401},
		{"another configured header", 502, upstreamhttp.Header(map[string]string{"Cf-Aig-Authorization": "Bearer " + key}, "X-Api-Key", "k"), key, "upstream: bad key [credential] here", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
			}))
			defer srv.Close()
			_, err := upstreamhttp.Post(t.Context(), srv.Client().Transport, srv.URL, tc.header, []byte(`{}`), false, func(s int, b []byte) *lyumen.Error {
				return &lyumen.Error{Kind: lyumen.KindUpstream, Status: cmp.Or(tc.as, s), Message: "upstream: bad key " + tc.quote + " here"}
			})
			e, ok := errors.AsType[*lyumen.Error](err)
			if !ok || e.Message != tc.want {
				t.Errorf("err = %v, want the message %q", err, tc.want)
			}
			if ok && e.Err != nil && strings.Contains(e.Err.Error(), key) { // the operator's log
				t.Errorf("the logged cause %q holds the key", e.Err)
			}
		})
	}
}
