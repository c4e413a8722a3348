package httpapi_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/httpapi"
	lyopenai "github.com/lyumen/lyumen/openai"
	"github.com/lyumen/lyumen/upstream"
)

// TestUpstreamError_FarRetryAfterDate: an upstream's Retry-After given as
// an HTTP date far ahead (a compatible server's "never") is bounded as the
// seconds form is, at a day. It was not: time.Time.Sub saturated at the
// largest Duration, and the 429 the client got said Retry-After: a
// negative number.
func TestUpstreamError_FarRetryAfterDate(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "Fri, 31 Dec 9999 23:59:59 GMT")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"error":{"message":"quota exhausted"}}`)
	}))
	t.Cleanup(up.Close)
	catalog := lyumen.NewCatalog([]lyumen.Model{{Name: publicModel, Targets: []lyumen.Target{{Provider: "fake", Model: remoteModel}}}})
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(lockedWriter{&mu, &bytes.Buffer{}}, nil))
	srv := httptest.NewServer(httpapi.NewServer(httpapi.Options{
		Logger:         logger,
		Provider:       upstream.New(catalog, map[string]lyumen.Provider{"fake": lyopenai.NewClient(up.URL, operatorKey, nil, nil)}, logger),
		Catalog:        catalog,
		Recorder:       &records{},
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		MaxBodyBytes:   64 << 10,
	}))
	t.Cleanup(srv.Close)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"`+publicModel+`","messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer "+clientKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ra := resp.Header.Get("Retry-After")
	n, err := strconv.ParseInt(ra, 10, 64)
	if resp.StatusCode != http.StatusTooManyRequests || err != nil || n < 0 || n > 24*60*60 {
		t.Errorf("%s, Retry-After %q, retry-after-ms %q; want 429 and a wait of at most a day, never negative",
			resp.Status, ra, resp.Header.Get("retry-after-ms"))
	}
}
