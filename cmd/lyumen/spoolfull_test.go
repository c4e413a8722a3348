package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lyumen/lyumen/providertest"
)

// TestServe_SpoolFullRefusesBeforeTheUpstream: with the store away and
// the spool at its cap, a request gets a 503 in its surface's envelope
// before the upstream is asked, a stream included (a status, not words
// it could not record followed by an error), and nothing the client was
// sent goes unrecorded.
func TestServe_SpoolFullRefusesBeforeTheUpstream(t *testing.T) {
	up := providertest.NewOpenAI(t)
	dir := t.TempDir()
	cfg := fmt.Sprintf(`admin_listen: ""
spool: {dir: %s, max_bytes: 1048576, drain_timeout: 100ms}
store: postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=1
providers: [{name: fake, kind: openai, base_url: %s, api_key: k}]
models: [{name: gpt-test, targets: [{provider: fake, model: upstream-model}]}]
limits: {requests_per_minute: 0, tokens_per_minute: 0, client_concurrency: 0}
`, filepath.Join(dir, "spool"), up.BaseURL())
	path := filepath.Join(dir, "lyumen.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr, logs, _ := startServe(t, []string{"--config", path}, nil)
	post := func(stream bool) (int, string) {
		body := fmt.Sprintf(`{"model":"gpt-test","stream":%t,"messages":[{"role":"user","content":%q}]}`, stream, strings.Repeat("spool filler ", 8000))
		resp, err := http.Post("http://"+addr+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	served := 0
	for ; ; served++ {
		if served > 40 {
			t.Fatalf("40 requests of 100 KB served by a spool of 1 MiB with no store\n%s", logs)
		}
		if status, body := post(false); status != http.StatusOK {
			if status != http.StatusServiceUnavailable || !strings.Contains(body, `"error"`) || !strings.Contains(body, "cannot record") {
				t.Fatalf("request %d: %d %s; want 503 in OpenAI's envelope", served, status, body)
			}
			break
		}
	}
	if served == 0 {
		t.Fatal("the first request was refused: the spool was full before anything was recorded")
	}
	if status, body := post(true); status != http.StatusServiceUnavailable {
		t.Errorf("a stream with the spool full: %d %.200s; want 503", status, body)
	}
	if n := len(up.Seen()); n != served {
		t.Errorf("the upstream was asked %d times, want %d: only for requests the spool had room for", n, served)
	}
}
