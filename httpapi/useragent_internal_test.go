package httpapi

import (
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestUserAgent(t *testing.T) {
	for _, tc := range []struct {
		name, ua, want string
	}{
		{"plain", "OpenAI/Go 3.1", "OpenAI/Go 3.1"},
		{"none", "", ""},
		{"long, cut between characters", "a" + strings.Repeat("é", 300), "a" + strings.Repeat("é", 255)},
		{"long ASCII", strings.Repeat("x", 600), strings.Repeat("x", 512)},
		{"bytes that are not UTF-8", "curl/8 \xff\xfe end", "curl/8 \uFFFD end"},
		{"exactly the limit", strings.Repeat("é", 256), strings.Repeat("é", 256)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("User-Agent", tc.ua)
			if got := userAgent(r); got != tc.want {
				t.Errorf("userAgent(%q) = %q (%d bytes), want %q", tc.ua, got, len(got), tc.want)
			}
		})
	}
}

// FuzzUserAgent: whatever bytes a client sends, the stored user agent is
// UTF-8 (PostgreSQL's text refuses anything else) within the bound, and a
// short UTF-8 one is kept as sent.
func FuzzUserAgent(f *testing.F) {
	for _, s := range []string{"", "OpenAI/Go", "a" + strings.Repeat("é", 300), "\xff", strings.Repeat("\xe2\x82", 400)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ua string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header["User-Agent"] = []string{ua}
		got := userAgent(r)
		if !utf8.ValidString(got) || len(got) > maxUserAgent {
			t.Fatalf("userAgent(%q) = %q: not UTF-8, or %d bytes", ua, got, len(got))
		}
		if utf8.ValidString(ua) && len(ua) <= maxUserAgent && got != ua {
			t.Fatalf("userAgent(%q) = %q, want it kept", ua, got)
		}
		if utf8.ValidString(ua) && !strings.HasPrefix(ua, got) {
			t.Fatalf("userAgent(%q) = %q, not a prefix", ua, got)
		}
	})
}
