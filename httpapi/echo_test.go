package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestErrors_LongClientInputIsCut: a client-supplied value quoted in an
// error comes back cut, in each API's envelope, not whole: a 60 KB model
// name must not make a 60 KB error.
func TestErrors_LongClientInputIsCut(t *testing.T) {
	// Odd length in bytes: a cut at a fixed byte count lands inside an é.
	huge := "x" + strings.Repeat("é", 30<<10)
	const messages = `"messages":[{"role":"user","content":"hi"}]`
	tests := []struct {
		name, method, path, body string
		anthropic                bool // send anthropic-version: the Anthropic envelope
		status                   int
		prefix                   string // the message's start, before the cut value
	}{
		{name: "OpenAI chat", method: http.MethodPost, path: "/v1/chat/completions",
			body: `{"model":"` + huge + `",` + messages + `}`, status: 404, prefix: "the model 'x"},
		{name: "Anthropic messages", method: http.MethodPost, path: "/v1/messages", anthropic: true,
			body: `{"model":"` + huge + `","max_tokens":5,` + messages + `}`, status: 404, prefix: "the model 'x"},
		{name: "OpenAI model", method: http.MethodGet, path: "/v1/models/" + huge, status: 404, prefix: "the model 'x"},
		{name: "Anthropic model", method: http.MethodGet, path: "/v1/models/" + huge, anthropic: true, status: 404, prefix: "the model 'x"},
		{name: "unknown URL", method: http.MethodGet, path: "/v1/" + huge, status: 404, prefix: "invalid URL (GET /v1/x"},
	}
	g := newClaudeGateway(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), tc.method, g.srv.URL+tc.path, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			if tc.anthropic {
				req.Header.Set("anthropic-version", "2023-06-01")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || len(body) > 1024 {
				t.Fatalf("status %d, body of %d bytes; want %d and at most 1 KB: %.200s…", resp.StatusCode, len(body), tc.status, body)
			}
			var env struct {
				Type  string `json:"type"` // Anthropic's "error"; OpenAI's has none
				Error struct {
					Message string `json:"message"`
				} `json:"error"`
			}
			if err := json.Unmarshal(body, &env); err != nil {
				t.Fatalf("%v: %s", err, body)
			}
			if tc.anthropic != (env.Type == "error") {
				t.Errorf("envelope %s; want the %s one", body, map[bool]string{true: "Anthropic", false: "OpenAI"}[tc.anthropic])
			}
			msg := env.Error.Message
			if !strings.HasPrefix(msg, tc.prefix) || !strings.Contains(msg, "é…") || !utf8.ValidString(msg) {
				t.Errorf("message %q; want it to start %q and hold the cut value, ending in …", msg, tc.prefix)
			}
		})
	}
}
