package httpapi_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/gemini"
	"github.com/lyumen/lyumen/httpapi"
	"github.com/lyumen/lyumen/openai"
)

// TestStream_HeadersLeaveWhileTheFirstEventIsSlow: an upstream that has
// answered 200 but whose first data event is slow must not hold the
// client's headers past HeaderWait: a proxy in front (Cloudflare: 100 s)
// cuts a response whose headers do not come. OpenRouter sends
// ": OPENROUTER PROCESSING" comments until its provider's first token; a
// Gemini model that thinks without showing it sends nothing at all.
func TestStream_HeadersLeaveWhileTheFirstEventIsSlow(t *testing.T) {
	for _, tc := range []struct {
		name        string
		client      func(url string, rt http.RoundTripper) lyumen.Provider
		first, rest string // the upstream's body before and after its wait
	}{
		{"OpenRouter processing", func(url string, rt http.RoundTripper) lyumen.Provider { return openai.NewClient(url, "k", nil, rt) },
			": OPENROUTER PROCESSING\n\n",
			`data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"hi"}}]}` + "\n\n" +
				`data: {"id":"c","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\ndata: [DONE]\n\n"},
		{"Gemini thinking", func(url string, rt http.RoundTripper) lyumen.Provider { return gemini.NewClient(url, "k", nil, rt) },
			"",
			`data: {"candidates":[{"content":{"parts":[{"text":"Hi"}],"role":"model"},"finishReason":"STOP","index":0}],"modelVersion":"m"}` + "\n\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "text/event-stream")
				w.WriteHeader(http.StatusOK)
				io.WriteString(w, tc.first)
				w.(http.Flusher).Flush()
				select {
				case <-release:
				case <-time.After(5 * time.Second):
				}
				io.WriteString(w, tc.rest)
			}))
			defer up.Close()
			defer close(release)
			gw := httptest.NewServer(httpapi.NewServer(httpapi.Options{
				Provider:   tc.client(up.URL, up.Client().Transport),
				Recorder:   &kept{},
				Catalog:    lyumen.NewCatalog([]lyumen.Model{{Name: limitedModel, Targets: []lyumen.Target{{Provider: "fake", Model: "m"}}}}),
				HeaderWait: 100 * time.Millisecond,
			}))
			defer gw.Close()
			start := time.Now()
			resp, err := http.Post(gw.URL+"/v1/chat/completions", "application/json", strings.NewReader(chatBody(true, "hi")))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("headers came after %v, with the upstream's first event; want them within HeaderWait (100ms) of the upstream's 200", d)
			}
		})
	}
}
