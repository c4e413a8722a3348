package gemini_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/gemini"
)

// TestClient_RetryInfo checks that the wait Google puts in a 429's
// RetryInfo reaches the router as RetryAfter, and that a Retry-After
// header, when there is one, wins.
func TestClient_RetryInfo(t *testing.T) {
	const body = `{"error":{"code":429,"message":"Quota exceeded.","status":"RESOURCE_EXHAUSTED","details":[` +
		`{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[]},` +
		`{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"17s"}]}}`
	for _, tc := range []struct {
		header string
		want   time.Duration
	}{{"", 17 * time.Second}, {"3", 3 * time.Second}} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tc.header != "" {
				w.Header().Set("Retry-After", tc.header)
			}
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(body))
		}))
		_, err := gemini.NewClient(srv.URL, apiKey, nil, srv.Client().Transport).Chat(t.Context(), request("hi"))
		srv.Close()
		e, ok := errors.AsType[*lyumen.Error](err)
		if !ok || e.Status != 429 || e.RetryAfter != tc.want {
			t.Errorf("Retry-After %q: err = %v, want a 429 to retry after %v", tc.header, err, tc.want)
		}
	}
}

// TestError_RetryDelayIsBounded: Google's RetryInfo wait is bounded as a
// Retry-After is (lyumen.MaxRetryAfter, a day). Taken as
// time.ParseDuration reads it, a
// retryDelay of 9223372036s was 292 years, and the client's Retry-After
// (seconds, rounded up: d+time.Second-1) wrapped negative.
func TestError_RetryDelayIsBounded(t *testing.T) {
	const body = `{"error":{"code":429,"message":"Quota exceeded.","status":"RESOURCE_EXHAUSTED","details":[` +
		`{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"9223372036s"}]}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write([]byte(body))
	}))
	defer srv.Close()
	_, err := gemini.NewClient(srv.URL, apiKey, nil, srv.Client().Transport).Chat(t.Context(), request("hi"))
	e, ok := errors.AsType[*lyumen.Error](err)
	if !ok {
		t.Fatalf("err %v, want a *lyumen.Error", err)
	}
	if e.RetryAfter > 24*time.Hour {
		t.Errorf("err %v: RetryAfter %v; want at most a day", err, e.RetryAfter)
	}
}
