package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/providertest"
)

// planted are request headers whose values must appear in no record and
// no log line: credentials, cookies, any other header (a proxy's, an SDK's
// platform header) and the client's address, as a proxy would forward it.
var planted = map[string]string{
	"Authorization":   "Bearer " + clientKey,
	"X-Api-Key":       clientKey,
	"Cookie":          "session=cookie-value-77",
	"X-Forwarded-For": "203.0.113.77",
	"X-Real-Ip":       "203.0.113.78",
	"X-Stainless-Os":  "planted-os-value",
	"X-Planted":       "planted-header-value",
	"Origin":          "https://planted-origin.example",
}

// sendPlanted posts body to path with the planted headers and the user
// agent ua (none when empty), and returns the status.
func sendPlanted(t *testing.T, base, path, body, ua string) int {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range planted {
		req.Header.Set(k, v)
	}
	req.Header["User-Agent"] = []string{ua} // "" sends none
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// checkNothingPlanted fails when text holds a planted value or the
// client's address.
func checkNothingPlanted(t *testing.T, what, text string) {
	t.Helper()
	for _, v := range append(values(planted), clientKey, "127.0.0.1") {
		if strings.Contains(text, v) {
			t.Errorf("%s holds %q", what, v)
		}
	}
}

func values(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// TestRecords_OnlyTheUserAgent: on every surface that records, a record
// holds the user agent exactly as sent (nothing when none was) and nothing
// of any other header, nor the client's address.
func TestRecords_OnlyTheUserAgent(t *testing.T) {
	surfaces := []struct{ path, body string }{
		{"/v1/chat/completions", `{"model":"` + publicModel + `","messages":[{"role":"user","content":"hi"}]}`},
		{"/v1/chat/completions", `{"model":"` + publicModel + `","stream":true,"messages":[{"role":"user","content":"hi"}]}`},
		{"/v1/responses", `{"model":"` + publicModel + `","input":"hi"}`},
		{"/v1/completions", `{"model":"` + publicModel + `","prompt":"hi"}`},
		{"/v1/embeddings", `{"model":"` + publicModel + `","input":"hi"}`},
		{"/v1/messages", `{"model":"` + publicModel + `","max_tokens":9,"messages":[{"role":"user","content":"hi"}]}`},
	}
	for _, s := range surfaces {
		for _, ua := range []string{"test-agent/1", ""} {
			t.Run(s.path+" "+ua, func(t *testing.T) {
				g := newGateway(t)
				if status := sendPlanted(t, g.srv.URL, s.path, s.body, ua); status != http.StatusOK {
					t.Fatalf("status %d", status)
				}
				rec := g.recs.wait(t, 1)
				if rec.UserAgent != ua {
					t.Errorf("recorded user agent %q, want %q", rec.UserAgent, ua)
				}
				all, err := json.Marshal(rec)
				if err != nil {
					t.Fatal(err)
				}
				checkNothingPlanted(t, "the record", string(all)+string(rec.Request))
			})
		}
	}
}

// TestLogs_NoSecretsWhenThingsFail: the log lines of refused and failed
// exchanges (an upstream error, a bad body, an unknown model, a body too
// large) hold no header value, credential or address either.
func TestLogs_NoSecretsWhenThingsFail(t *testing.T) {
	g := newGateway(t)
	g.up.Set(providertest.Behaviour{Status: http.StatusInternalServerError})
	big := `{"model":"` + publicModel + `","messages":[{"role":"user","content":"` + strings.Repeat("x", 70<<10) + `"}]}`
	for _, body := range []string{
		`{"model":"` + publicModel + `","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"` + publicModel + `","stream":true,"messages":[{"role":"user","content":"hi"}]}`,
		`{"model":`,
		`{"model":"nope","messages":[{"role":"user","content":"hi"}]}`,
		big,
	} {
		if status := sendPlanted(t, g.srv.URL, "/v1/chat/completions", body, "test-agent/1"); status < 400 {
			t.Fatalf("status %d for %.40s", status, body)
		}
	}
	g.recs.wait(t, 2)
	// The exchange lines are written after the responses.
	logs := g.logText()
	for deadline := time.Now().Add(5 * time.Second); strings.Count(logs, `"msg":"exchange"`) < 2 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
		logs = g.logText()
	}
	if !strings.Contains(logs, "502") && !strings.Contains(logs, "500") {
		t.Fatalf("no line of the failed exchanges: %s", logs)
	}
	checkNothingPlanted(t, "the logs", logs)
	for _, rec := range g.recs.all() {
		if rec.Completeness != lyumen.UpstreamRefused {
			t.Errorf("recorded %s, want %s", rec.Completeness, lyumen.UpstreamRefused)
		}
	}
}
