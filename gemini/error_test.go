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
