package admin_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen/admin"
)

const token = "t0k3n-for-tests-7f3a"

func serve(h http.Handler, path, auth string) (int, http.Header, string) {
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, path, nil)
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	h.ServeHTTP(w, r)
	return w.Code, w.Header(), w.Body.String()
}

func TestServer_Token(t *testing.T) {
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "go_goroutines 7\n") })
	h := admin.NewServer(admin.Options{Token: token, Metrics: metrics})
	cases := []struct {
		name, path, auth string
		status           int
	}{
		{"no token", "/metrics", "", 401},
		{"wrong token", "/metrics", "Bearer nope", 401},
		{"token as a prefix", "/metrics", "Bearer " + token[:10], 401},
		{"token with more", "/metrics", "Bearer " + token + "x", 401},
		{"basic scheme", "/metrics", "Basic " + token, 401},
		{"no scheme", "/metrics", token, 401},
		{"empty bearer", "/metrics", "Bearer ", 401},
		{"unknown path without a token", "/admin/secret", "", 401},
		{"metrics", "/metrics", "Bearer " + token, 200},
		{"scheme in any case", "/metrics", "bEARER " + token, 200},
		{"readyz", "/readyz", "Bearer " + token, 200},
		{"healthz", "/healthz", "Bearer " + token, 200},
		{"unknown path", "/nope", "Bearer " + token, 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, h, body := serve(h, tc.path, tc.auth)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			if status == 401 {
				if h.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
				if strings.Contains(body, "go_goroutines") {
					t.Error("metrics served without the token")
				}
			}
			if h.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", h.Get("Cache-Control"))
			}
			if tc.name == "metrics" && body != "go_goroutines 7\n" {
				t.Errorf("metrics body %q", body)
			}
		})
	}
}

func TestNewServer_RequiresToken(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewServer without a token did not panic")
		}
	}()
	admin.NewServer(admin.Options{})
}

func TestServer_Ready(t *testing.T) {
	ok := func(context.Context) error { return nil }
	down := func(context.Context) error { return errors.New("spool full") }
	cases := []struct {
		name   string
		checks []admin.Check
		status int
		body   string
	}{
		{"no checks", nil, 200, ""},
		{"all pass", []admin.Check{{"spool", ok}, {"redis", ok}}, 200, "spool: ok\nredis: ok\n"},
		{"one fails", []admin.Check{{"spool", down}, {"redis", ok}}, 503, "spool: spool full\nredis: ok\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := serve(admin.NewServer(admin.Options{Token: token, Checks: tc.checks}), "/readyz", "Bearer "+token)
			if diff := cmp.Diff(struct {
				Status int
				Body   string
			}{tc.status, tc.body}, struct {
				Status int
				Body   string
			}{status, body}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestServer_ReadyTimeout: a check that hangs is failed at the timeout.
func TestServer_ReadyTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hang := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
		h := admin.NewServer(admin.Options{Token: token, CheckTimeout: 5 * time.Second, Checks: []admin.Check{{"store", hang}}})
		start := time.Now()
		status, _, body := serve(h, "/readyz", "Bearer "+token)
		if status != 503 || !strings.Contains(body, "deadline exceeded") {
			t.Errorf("%d %q", status, body)
		}
		if d := time.Since(start); d != 5*time.Second {
			t.Errorf("answered after %v, want the 5 s timeout", d)
		}
	})
}

// FuzzServer_Authorization: only "Bearer <token>" (scheme in any case,
// spaces before the token) is let in, whatever else the header holds.
func FuzzServer_Authorization(f *testing.F) {
	for _, s := range []string{"", "Bearer " + token, "bearer " + token, "Bearer  " + token, "Bearer " + token + " ", "Basic " + token,
		token, "Bearer", "Bearer\t" + token, "Bearer " + strings.ToUpper(token), "Bearer \x00" + token} {
		f.Add(s)
	}
	h := admin.NewServer(admin.Options{Token: token})
	f.Fuzz(func(t *testing.T, auth string) {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, "/healthz", nil)
		r.Header["Authorization"] = []string{auth}
		h.ServeHTTP(w, r)
		scheme, rest, _ := strings.Cut(auth, " ")
		want := strings.EqualFold(scheme, "bearer") && strings.TrimLeft(rest, " ") == token
		if (w.Code == 200) != want {
			t.Fatalf("Authorization %q: status %d", auth, w.Code)
		}
	})
}
