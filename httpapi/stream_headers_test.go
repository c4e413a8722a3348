package httpapi_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/httpapi"
	"github.com/lyumen/lyumen/openai"
)

// TestStream_HeadersLeaveWhileTheFirstEventIsSlow: an upstream that has
// answered 200 but whose first data event is slow (OpenRouter sends
// ": OPENROUTER PROCESSING" comments until its provider's first token) must
// not hold the client's headers past HeaderWait: a proxy in front
// (Cloudflare: 100 s) cuts a response whose headers do not come.
func TestStream_HeadersLeaveWhileTheFirstEventIsSlow(t *testing.T) {
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, ": OPENROUTER PROCESSING\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
		io.WriteString(w, `data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"hi"}}]}`+"\n\n")
		io.WriteString(w, `data: {"id":"c","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`+"\n\ndata: [DONE]\n\n")
	}))
	defer up.Close()
	defer close(release)
	gw := httptest.NewServer(httpapi.NewServer(httpapi.Options{
		Provider:   openai.NewClient(up.URL, "k", nil, up.Client().Transport),
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
}
