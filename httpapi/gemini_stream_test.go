package httpapi_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/gemini"
	"github.com/lyumen/lyumen/httpapi"
	"github.com/lyumen/lyumen/providertest"
)

// TestGemini_BlockedPromptStreamed: Gemini refuses a prompt inside its
// 200 stream; the client gets the refusal's own status, not a 200 stream
// that ends in an error.
func TestGemini_BlockedPromptStreamed(t *testing.T) {
	g := newGeminiGateway(t)
	g.up.Set(providertest.GeminiBehaviour{BlockReason: "SAFETY"})
	s := g.client.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{
		Model:    publicModel,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	})
	for s.Next() {
	}
	apiErr, ok := errors.AsType[*openai.Error](s.Err())
	if !ok || apiErr.StatusCode != http.StatusBadRequest {
		t.Fatalf("err %v, want a 400", s.Err())
	}
	if rec := g.recs.wait(t, 1); rec.Status != http.StatusBadRequest || rec.Completeness != lyumen.UpstreamRefused {
		t.Errorf("record: status %d, completeness %q", rec.Status, rec.Completeness)
	}
}

// TestGemini_HeadersLeaveWhileTheModelThinks: a Gemini model that thinks
// long before its first chunk (thoughts not asked for) must not hold the
// client's headers past HeaderWait, as no other upstream does: a proxy in
// front cuts a response whose headers do not come.
func TestGemini_HeadersLeaveWhileTheModelThinks(t *testing.T) {
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
		io.WriteString(w, `data: {"candidates":[{"content":{"parts":[{"text":"Hi"}],"role":"model"},"finishReason":"STOP","index":0}],"modelVersion":"m"}`+"\n\n")
	}))
	defer up.Close()
	defer close(release)
	gw := httptest.NewServer(httpapi.NewServer(httpapi.Options{
		Provider:   gemini.NewClient(up.URL, operatorKey, nil, up.Client().Transport),
		Recorder:   &records{},
		Catalog:    lyumen.NewCatalog([]lyumen.Model{{Name: publicModel, Targets: []lyumen.Target{{Provider: "fake", Model: "gemini-2.5-pro"}}}}),
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
		t.Errorf("headers came after %v, with Gemini's first chunk; want them within HeaderWait (100ms) of its 200", d)
	}
}
