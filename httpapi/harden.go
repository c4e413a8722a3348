package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/lyumen/lyumen"
)

// apiContentSecurityPolicy is sent with everything that is not a page: JSON
// and event streams have nothing to load, and nothing may frame them.
const apiContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'"

// harden wraps every route with what every request gets: security headers,
// write deadlines that move with the response, a read deadline that ends
// with the body, and recovery from panics.
func (s *server) harden(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", apiContentSecurityPolicy) // pages set their own
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=63072000")
		}
		rw := &responseWriter{ResponseWriter: w, rc: http.NewResponseController(w), timeout: s.Limits.WriteTimeout}
		if s.Limits.WriteTimeout > 0 && s.Limits.MaxStreamDuration > 0 {
			rw.until = time.Now().Add(s.Limits.MaxStreamDuration + 2*s.Limits.WriteTimeout)
		}
		defer s.recoverPanic(rw, r, nil)
		next.ServeHTTP(rw, r)
	})
}

// recoverPanic, deferred, turns a panic in a handler into a 500 in the
// surface's envelope (c's, or OpenAI's under /v1/), logged with its stack
// but not the client's address. When the response has begun, the
// connection is cut instead, so the client sees it incomplete.
func (s *server) recoverPanic(w http.ResponseWriter, r *http.Request, c codec) {
	v := recover()
	if v == nil {
		return
	}
	if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
		panic(v) // the handler's own way to cut the connection: net/http handles it
	}
	s.logger.ErrorContext(r.Context(), "panic serving request", "method", r.Method, "path", r.URL.Path,
		"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	if rw, ok := w.(*responseWriter); ok && rw.wroteHeader {
		panic(http.ErrAbortHandler)
	}
	err := &lyumen.Error{Kind: lyumen.KindInternal}
	switch {
	case c != nil:
		status, body := c.error(err)
		writeJSON(w, status, body)
	case strings.HasPrefix(r.URL.Path, "/v1/"):
		apiError(w, r.URL.Path, err)
	default:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte("internal error\n"))
	}
}

// responseWriter pushes the connection's write deadline forward before
// each write, so that a response may go on as long as it keeps moving (a
// stream, event by event) while a client that stops reading is cut after
// timeout. Deadlines never go past until, when set.
type responseWriter struct {
	http.ResponseWriter
	rc          *http.ResponseController
	timeout     time.Duration
	until       time.Time
	deadline    time.Time // the last one set
	wroteHeader bool
}

func (w *responseWriter) push() {
	if w.timeout <= 0 {
		return
	}
	d := time.Now().Add(w.timeout)
	if !w.until.IsZero() && d.After(w.until) {
		d = w.until
	}
	// Moving the deadline costs a timer update: skip it while the last one
	// still leaves nearly the whole timeout.
	if d.Sub(w.deadline) < w.timeout/16 {
		return
	}
	w.deadline = d
	w.rc.SetWriteDeadline(d) // ErrNotSupported on writers without deadlines: nothing to push
}

func (w *responseWriter) WriteHeader(code int) {
	if code >= 200 {
		w.wroteHeader = true
	}
	w.push()
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	w.wroteHeader = true
	w.push()
	return w.ResponseWriter.Write(p)
}

// FlushError is what http.ResponseController.Flush calls.
func (w *responseWriter) FlushError() error {
	w.wroteHeader = true
	w.push()
	return w.rc.Flush()
}

// Flush makes the writer an http.Flusher too.
func (w *responseWriter) Flush() { w.FlushError() }

// Unwrap lets http.ResponseController reach the connection.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
