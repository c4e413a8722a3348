package httpapi

import (
	"net/http"
	"strings"

	"github.com/rs/cors"
)

// apiCORS lets scripts on any page call the API, as OpenAI's and
// Anthropic's APIs let their SDKs do from a browser
// (dangerouslyAllowBrowser). The API takes no credentials and sets no
// cookies, so a page can make a visitor's browser do nothing with it that
// the page's server could not do itself. The browser's preflight is
// allowed the headers it asks about (the SDKs send their own); the page may
// read the request's id and the rate limits and waits the SDKs act on.
var apiCORS = cors.Options{
	AllowedOrigins: []string{"*"},
	AllowedMethods: []string{http.MethodGet, http.MethodPost},
	AllowedHeaders: []string{"*"},
	ExposedHeaders: []string{"X-Request-Id", "Request-Id", "Retry-After", "Retry-After-Ms",
		"X-Ratelimit-Limit-Requests", "X-Ratelimit-Remaining-Requests", "X-Ratelimit-Reset-Requests",
		"X-Ratelimit-Limit-Tokens", "X-Ratelimit-Remaining-Tokens", "X-Ratelimit-Reset-Tokens",
		"Anthropic-Ratelimit-Requests-Limit", "Anthropic-Ratelimit-Requests-Remaining", "Anthropic-Ratelimit-Requests-Reset",
		"Anthropic-Ratelimit-Tokens-Limit", "Anthropic-Ratelimit-Tokens-Remaining", "Anthropic-Ratelimit-Tokens-Reset"},
	MaxAge: 7200, // Chromium's most
}

// withCORS answers CORS for the API under /v1/ (rs/cors: the preflight,
// Vary, what a browser may send and read). The pages, which nothing calls
// from elsewhere, get no CORS headers, and neither does a request without
// an Origin (every SDK outside a browser): rs/cors would add Vary: Origin
// to each, for caches, and the API's answers are not cached.
func withCORS(next http.Handler) http.Handler {
	api := cors.New(apiCORS).Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/") && r.Header.Get("Origin") != "" {
			api.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
