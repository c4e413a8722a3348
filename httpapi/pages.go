package httpapi

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"net/netip"

	"github.com/lyumen/lyumen"
)

//go:embed page
var pageFS embed.FS

// contentSecurityPolicy allows nothing but this origin's stylesheet: the
// pages run no script and load nothing from anywhere else.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

type pages struct {
	landing, privacy, notFound *template.Template
	style                      []byte
}

func newPages() *pages {
	base := template.Must(template.ParseFS(pageFS, "page/layout.html"))
	parse := func(name string) *template.Template {
		return template.Must(template.Must(base.Clone()).ParseFS(pageFS, "page/"+name))
	}
	style, err := pageFS.ReadFile("page/style.css")
	if err != nil {
		panic(err) // embedded at build time: cannot be missing
	}
	return &pages{landing: parse("landing.html"), privacy: parse("privacy.html"), notFound: parse("notfound.html"), style: style}
}

type pageData struct {
	Site    Site
	Origin  string // Anthropic's SDKs add /v1 themselves
	BaseURL string
	Models  []lyumen.Model
	Example string // a model to use in the examples
}

func (s *server) pageData(r *http.Request) pageData {
	origin := baseURL(r, s.TrustedProxies)
	d := pageData{Site: s.Site, Origin: origin, BaseURL: origin + "/v1", Models: s.Catalog.Models(), Example: "your-model"}
	if len(d.Models) > 0 {
		d.Example = d.Models[0].Name
	}
	return d
}

// baseURL is how clients reach this gateway. Behind a trusted proxy the
// scheme comes from X-Forwarded-Proto; Host is escaped by the template.
func baseURL(r *http.Request, trusted []netip.Prefix) string {
	scheme := "http"
	if r.TLS != nil || (r.Header.Get("X-Forwarded-Proto") == "https" && fromTrusted(r, trusted)) {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *server) render(w http.ResponseWriter, r *http.Request, status int, t *template.Template) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", s.pageData(r)); err != nil {
		s.logger.ErrorContext(r.Context(), "render page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (s *server) handleLanding() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.render(w, r, http.StatusOK, s.pages.landing)
	})
}

func (s *server) handlePrivacy() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.render(w, r, http.StatusOK, s.pages.privacy)
	})
}

func (s *server) handleNotFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.render(w, r, http.StatusNotFound, s.pages.notFound)
	})
}

func (s *server) handleStyle() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/css; charset=utf-8")
		h.Set("Cache-Control", "public, max-age=3600")
		h.Set("X-Content-Type-Options", "nosniff")
		w.Write(s.pages.style)
	})
}

func handleHealth() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
}
