package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestCORS: a script on any page may call the API, as OpenAI's and
// Anthropic's SDKs do from a browser: the browser's preflight is answered
// for the headers it asks about, and the answer lets the page read the
// rate-limit headers. The pages, and clients outside a browser (no
// Origin), get no CORS headers; a preflight is not an exchange and is not
// recorded.
func TestCORS(t *testing.T) {
	g := newGateway(t)
	const origin = "https://app.example"
	tests := []struct {
		name, method, path, body string
		header                   map[string]string
		status                   int
		want                     map[string]string // "" for absent
	}{
		{
			name: "OpenAI SDK's preflight", method: http.MethodOptions, path: "/v1/chat/completions",
			header: map[string]string{"Origin": origin, "Access-Control-Request-Method": "POST",
				"Access-Control-Request-Headers": "authorization,content-type,x-stainless-os"},
			status: http.StatusNoContent,
			want: map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "POST",
				"Access-Control-Allow-Headers": "authorization,content-type,x-stainless-os", "Access-Control-Allow-Credentials": ""},
		},
		{
			name: "Anthropic SDK's preflight", method: http.MethodOptions, path: "/v1/messages",
			header: map[string]string{"Origin": origin, "Access-Control-Request-Method": "POST",
				"Access-Control-Request-Headers": "anthropic-dangerous-direct-browser-access,anthropic-version,content-type,x-api-key"},
			status: http.StatusNoContent,
			want: map[string]string{"Access-Control-Allow-Origin": "*",
				"Access-Control-Allow-Headers": "anthropic-dangerous-direct-browser-access,anthropic-version,content-type,x-api-key"},
		},
		{
			name: "a call from a page", method: http.MethodPost, path: "/v1/chat/completions", body: `{"model":"` + publicModel + `","messages":[{"role":"user","content":"hi"}]}`,
			header: map[string]string{"Origin": origin, "Content-Type": "application/json", "Authorization": "Bearer " + clientKey},
			status: http.StatusOK,
			want:   map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": ""},
		},
		{
			name: "an SDK outside a browser", method: http.MethodPost, path: "/v1/chat/completions", body: `{"model":"` + publicModel + `","messages":[{"role":"user","content":"hi"}]}`,
			header: map[string]string{"Content-Type": "application/json"},
			status: http.StatusOK,
			want:   map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Expose-Headers": ""},
		},
		{
			name: "a page of the site", method: http.MethodGet, path: "/privacy",
			header: map[string]string{"Origin": origin},
			status: http.StatusOK,
			want:   map[string]string{"Access-Control-Allow-Origin": ""},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, g.srv.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
			for k, v := range tc.want {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if tc.header["Origin"] != "" && tc.method == http.MethodPost {
				exposed := resp.Header.Get("Access-Control-Expose-Headers")
				for _, h := range []string{"X-Request-Id", "Retry-After", "X-Ratelimit-Remaining-Requests"} {
					if !strings.Contains(exposed, h) {
						t.Errorf("Access-Control-Expose-Headers %q: %s not readable by the page", exposed, h)
					}
				}
			}
			if len(resp.Header.Values("Set-Cookie")) > 0 {
				t.Error("a cookie was set")
			}
		})
	}
	if n := len(g.recs.all()); n != 2 {
		t.Errorf("%d records, want 2: the two calls, not the preflights", n)
	}
}
