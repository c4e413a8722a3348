// Package admin is the operator's listener: metrics, readiness, and later
// the admin API. It is served on its own address (loopback by default),
// never on the public port, and every request must carry the operator's
// token as "Authorization: Bearer <token>".
package admin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
	"time"
)

// Options are the admin listener's dependencies.
type Options struct {
	// Token must be presented on every request. Required.
	Token string
	// Metrics is mounted at GET /metrics; main builds it with
	// promhttp.HandlerFor(reg, …). Nil: no metrics.
	Metrics http.Handler
	// Checks are what GET /readyz runs: the gateway is ready when all pass.
	Checks []Check
	// CheckTimeout bounds each check; 2 s when zero.
	CheckTimeout time.Duration
}

// Check is one dependency readiness depends on.
type Check struct {
	Name  string
	Check func(ctx context.Context) error
}

// NewServer returns the admin handler. It panics without a token: an admin
// listener open to anyone who can reach it is a programming error.
func NewServer(o Options) http.Handler {
	if o.Token == "" {
		panic("admin: NewServer without a token")
	}
	if o.CheckTimeout <= 0 {
		o.CheckTimeout = 2 * time.Second
	}
	mux := http.NewServeMux()
	if o.Metrics != nil {
		mux.Handle("GET /metrics", o.Metrics)
	}
	mux.Handle("GET /readyz", handleReady(o.Checks, o.CheckTimeout))
	mux.Handle("GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	}))
	return requireToken(o.Token, mux)
}

// requireToken lets through only requests bearing token. The comparison
// takes the same time whatever was sent: both sides are hashed first, so
// neither the token's bytes nor its length leak through timing.
func requireToken(token string, next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		got, ok := bearer(r.Header.Get("Authorization"))
		sum := sha256.Sum256([]byte(got))
		if subtle.ConstantTimeCompare(sum[:], want[:]) != 1 || !ok {
			h.Set("WWW-Authenticate", `Bearer realm="lyumen-admin"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// bearer reads the token of an "Authorization: Bearer <token>" header; the
// scheme is case-insensitive (RFC 9110).
func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimLeft(token, " ")
	return token, token != ""
}

func handleReady(checks []Check, timeout time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		status := http.StatusOK
		for _, c := range checks {
			ctx, cancel := context.WithTimeout(r.Context(), timeout)
			err := c.Check(ctx)
			cancel()
			if err != nil {
				status = http.StatusServiceUnavailable
				b.WriteString(c.Name + ": " + err.Error() + "\n")
				continue
			}
			b.WriteString(c.Name + ": ok\n")
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		w.Write([]byte(b.String()))
	})
}
