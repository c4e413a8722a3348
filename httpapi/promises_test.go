package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/httpapi"
	"github.com/lyumen/lyumen/ratelimit"
)

// The Content-Security-Policy of the pages, and of everything else. Exact:
// a source added to either (a script CDN, say) breaks the promise that the
// pages load nothing from elsewhere.
const (
	pageCSP = "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	apiCSP  = "default-src 'none'; frame-ancestors 'none'"
)

// probe is one request to the public handler and what it must get.
type probe struct {
	method, path, body string
	chunked            bool // sent without a Content-Length
	header             map[string]string
	status             int  // the status it must get; 0: a redirect, any 3xx
	page               bool // a rendered page: the page CSP, a stylesheet linked
	cut                bool // the server cuts the response midway (a panic mid-stream)
}

func (p probe) String() string {
	s := p.method + " " + p.path
	if p.body != "" {
		b := p.body
		if len(b) > 60 {
			b = fmt.Sprintf("%s… (%d bytes)", b[:60], len(p.body))
		}
		s += " " + b
	}
	if p.chunked {
		s += " (chunked)"
	}
	for k, v := range p.header {
		s += fmt.Sprintf(" [%s: %s]", k, v)
	}
	return s
}

// apiSurface is one POST route of the API, with a well-formed body for it.
type apiSurface struct {
	path    string
	body    func(model string, stream bool) string
	streams bool
}

var apiSurfaces = []apiSurface{
	{"/v1/chat/completions", func(m string, s bool) string {
		return fmt.Sprintf(`{"model":%q,"stream":%t,"messages":[{"role":"user","content":"hi"}]}`, m, s)
	}, true},
	{"/v1/responses", func(m string, s bool) string { return fmt.Sprintf(`{"model":%q,"stream":%t,"input":"hi"}`, m, s) }, true},
	{"/v1/completions", func(m string, s bool) string { return fmt.Sprintf(`{"model":%q,"stream":%t,"prompt":"hi"}`, m, s) }, true},
	{"/v1/messages", func(m string, s bool) string {
		return fmt.Sprintf(`{"model":%q,"stream":%t,"max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`, m, s)
	}, true},
	{"/v1/embeddings", func(m string, _ bool) string { return fmt.Sprintf(`{"model":%q,"input":"hi"}`, m) }, false},
	{"/v1/messages/count_tokens", func(m string, _ bool) string {
		return fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":"hi"}]}`, m)
	}, false},
}

// answered is every well-formed request to every API surface, streamed
// where the surface streams, expecting status (a func of the surface, for
// the routes that some limit does not apply to).
func answered(status func(s apiSurface, stream bool) int) []probe {
	var ps []probe
	for _, s := range apiSurfaces {
		ps = append(ps, probe{method: "POST", path: s.path, body: s.body(publicModel, false), status: status(s, false)})
		if s.streams {
			ps = append(ps, probe{method: "POST", path: s.path, body: s.body(publicModel, true), status: status(s, true)})
		}
	}
	return ps
}

func always(status int) func(apiSurface, bool) int {
	return func(apiSurface, bool) int { return status }
}

// unavailable is a 503, which Anthropic's surface calls 529 (overloaded).
func unavailable(s apiSurface, _ bool) int {
	if strings.HasPrefix(s.path, "/v1/messages") {
		return 529
	}
	return 503
}

// everyRoute is every route of routes.go, in every way a request can go:
// answered whole and streamed, malformed, empty, naming an unknown model,
// too large with and without a Content-Length, with the wrong method.
func everyRoute(maxBody int64) []probe {
	ps := []probe{
		{method: "GET", path: "/", status: 200, page: true},
		{method: "HEAD", path: "/", status: 200, page: true},
		{method: "GET", path: "/privacy", status: 200, page: true},
		{method: "GET", path: "/style.css", status: 200},
		{method: "GET", path: "/healthz", status: 200},
		{method: "GET", path: "/nowhere", status: 404, page: true},
		{method: "GET", path: "/privacy/", status: 404, page: true},
		{method: "POST", path: "/", body: "x=1", status: 404, page: true},
		{method: "GET", path: "/a/../privacy", status: 0}, // the mux's redirect to the clean path
		{method: "GET", path: "/v1", status: 0},           // and to /v1/
		{method: "GET", path: "/v1/models", status: 200},
		{method: "GET", path: "/v1/models", header: map[string]string{"Anthropic-Version": "2023-06-01"}, status: 200},
		{method: "GET", path: "/v1/models/" + publicModel, status: 200},
		{method: "GET", path: "/v1/models/" + publicModel, header: map[string]string{"Anthropic-Version": "2023-06-01"}, status: 200},
		{method: "GET", path: "/v1/models/nope", status: 404},
		{method: "GET", path: "/v1/models/nope", header: map[string]string{"Anthropic-Version": "2023-06-01"}, status: 404},
		{method: "DELETE", path: "/v1/models", status: 404},
		{method: "GET", path: "/v1/", status: 404},
		{method: "GET", path: "/v1/nope", status: 404},
		{method: "POST", path: "/v1/nope", body: "{}", status: 404},
	}
	ps = append(ps, answered(always(200))...)
	for _, s := range apiSurfaces {
		ok := s.body(publicModel, false)
		big := `{"pad":"` + strings.Repeat("x", int(maxBody)) + `",` + ok[1:]
		ps = append(ps,
			probe{method: "POST", path: s.path, body: `{"model":`, status: 400},
			probe{method: "POST", path: s.path, body: `{"model":`, chunked: true, status: 400},
			probe{method: "POST", path: s.path, body: "", status: 400},
			probe{method: "POST", path: s.path, body: s.body("gpt-nope", false), status: 404},
			probe{method: "POST", path: s.path, body: big, status: 413},
			probe{method: "POST", path: s.path, body: big, chunked: true, status: 413},
			probe{method: "GET", path: s.path, status: 404},
		)
		if s.streams {
			ps = append(ps, probe{method: "POST", path: s.path, body: s.body("gpt-nope", true), status: 404})
		}
	}
	return ps
}

// noRedirects is srv's client, which reports a redirect instead of
// following it, so that the redirect itself is checked.
func noRedirects(srv *httptest.Server) *http.Client {
	c := *srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// checkPromise sends p and checks the promise on what comes back: no
// cookie, the exact CSP, and nothing in a page or stylesheet (or in a
// header that points somewhere) from another origin.
func checkPromise(t *testing.T, c *http.Client, base string, p probe) {
	t.Helper()
	var body io.Reader = strings.NewReader(p.body)
	if p.chunked {
		body = struct{ io.Reader }{body} // hides the length
	}
	req, err := http.NewRequestWithContext(t.Context(), p.method, base+p.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if p.chunked {
		req.ContentLength = -1
	}
	if p.method == "POST" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Cookie", "session=abc; _ga=GA1.2.3") // nothing may echo or renew it
	for k, v := range p.header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Errorf("%v: %v", p, err)
		return
	}
	b, readErr := io.ReadAll(resp.Body)
	resp.Body.Close()
	if p.status == 0 && (resp.StatusCode < 300 || resp.StatusCode > 399) || p.status != 0 && resp.StatusCode != p.status {
		t.Errorf("%v: status %s, want %d: %.200s", p, resp.Status, p.status, b)
	}
	if p.cut != (readErr != nil) {
		t.Errorf("%v: read error %v, want cut %t", p, readErr, p.cut)
	}

	for _, h := range []http.Header{resp.Header, resp.Trailer} {
		for _, k := range []string{"Set-Cookie", "Set-Cookie2"} {
			if c := h.Values(k); len(c) != 0 {
				t.Errorf("%v: %s %q: the gateway sets no cookies", p, k, c)
			}
		}
	}

	wantCSP := apiCSP
	if p.page {
		wantCSP = pageCSP
	}
	if csp := resp.Header.Values("Content-Security-Policy"); len(csp) != 1 || csp[0] != wantCSP {
		t.Errorf("%v: Content-Security-Policy %q, want exactly %q", p, csp, wantCSP)
	}

	for _, k := range []string{"Location", "Content-Location"} {
		for _, u := range resp.Header.Values(k) {
			if !sameOrigin(u) {
				t.Errorf("%v: %s %q leads to another origin", p, k, u)
			}
		}
	}
	for _, l := range resp.Header.Values("Link") { // a preload is a load
		for _, m := range linkTarget.FindAllStringSubmatch(l, -1) {
			if !sameOrigin(m[1]) {
				t.Errorf("%v: Link %q loads from another origin", p, l)
			}
		}
	}
	if r := resp.Header.Values("Refresh"); len(r) != 0 {
		t.Errorf("%v: Refresh %q", p, r)
	}

	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if p.page && mt != "text/html" {
		t.Errorf("%v: Content-Type %q, want a page", p, resp.Header.Get("Content-Type"))
	}
	if mt != "text/html" && mt != "text/css" {
		return
	}
	lower := strings.ToLower(string(b))
	for _, bad := range []string{"<script", "<iframe", "<frame", "<object", "<embed", "<applet", "<portal", "<base", "http-equiv", "javascript:"} {
		if strings.Contains(lower, bad) {
			t.Errorf("%v: the %s holds %q", p, mt, bad)
		}
	}
	urls := pageURLs(string(b), mt == "text/html")
	for _, u := range urls {
		if !sameOrigin(u) {
			t.Errorf("%v: the %s loads or links %q, not of this origin", p, mt, u)
		}
	}
	if p.page && p.method != "HEAD" && !containsString(urls, "/style.css") {
		t.Errorf("%v: found no link to /style.css among %q: the page was not checked", p, urls)
	}
	if mt == "text/css" && !strings.Contains(string(b), "{") {
		t.Errorf("%v: an empty stylesheet: %q", p, b)
	}
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

var (
	// An attribute that holds a URL, its value quoted either way or not at
	// all, after a space, a quote or the slash of <img/src=...>.
	urlAttr = regexp.MustCompile(`(?i)(?:^|[\s"'/])(src|srcset|href|xlink:href|action|formaction|poster|data|background|ping|manifest|cite|longdesc|codebase|archive)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))`)
	// A CSS url(), quoted either way or not, in a stylesheet or in a page's
	// <style> or style="".
	cssURL = regexp.MustCompile(`(?i)(?:^|[^\w\-\\])url\(\s*(?:"([^"]*)"|'([^']*)'|([^)]*?))\s*\)`)
	// A CSS @import of a bare string (the url() form is cssURL's).
	cssImport = regexp.MustCompile(`(?i)@import\s*(?:"([^"]*)"|'([^']*)')`)
	// The target of a Link header.
	linkTarget = regexp.MustCompile(`<([^>]*)>`)
)

// pageURLs is every URL that a page (html) or a stylesheet refers to.
func pageURLs(doc string, isHTML bool) []string {
	var urls []string
	first := func(m []string) string {
		for _, s := range m {
			if s != "" {
				return s
			}
		}
		return ""
	}
	for _, m := range urlAttr.FindAllStringSubmatch(doc, -1) {
		v := first(m[2:])
		if isHTML {
			v = html.UnescapeString(v)
		}
		if strings.EqualFold(m[1], "srcset") || strings.EqualFold(m[1], "ping") || strings.EqualFold(m[1], "archive") {
			for _, c := range strings.Split(v, ",") { // "url 2x, url 3x" or a list of URLs
				if f := strings.Fields(c); len(f) > 0 {
					urls = append(urls, f[0])
				}
			}
			continue
		}
		urls = append(urls, v)
	}
	for _, re := range []*regexp.Regexp{cssURL, cssImport} {
		for _, m := range re.FindAllStringSubmatch(doc, -1) {
			v := first(m[1:])
			if isHTML {
				v = html.UnescapeString(v)
			}
			urls = append(urls, v)
		}
	}
	return urls
}

// sameOrigin reports whether u, from a page, refers to this origin: a path
// from the root (a single slash: "//host" is another origin, and so is
// "/\host" to a browser) or a fragment. A data: URI would be allowed only
// if the CSP allowed it, and it allows none.
func sameOrigin(u string) bool {
	// Browsers trim spaces and drop tabs and newlines from URLs.
	u = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, strings.TrimSpace(u))
	switch {
	case strings.HasPrefix(u, "#"):
		return true
	case strings.HasPrefix(u, "/"):
		return len(u) == 1 || (u[1] != '/' && u[1] != '\\')
	case strings.HasPrefix(strings.ToLower(u), "data:"):
		return strings.Contains(pageCSP, "data:")
	}
	return false
}

// TestPromise_URLChecks: the checks on pages find every way the audit
// found to load from elsewhere, and pass this origin's links.
func TestPromise_URLChecks(t *testing.T) {
	bad := map[string]bool{ // document: is it HTML
		`@import url("https://fonts.googleapis.com/css2?family=Inter");`: false,
		`@import 'https://fonts.example/x.css';`:                         false,
		`@import "//fonts.example/x.css";`:                               false,
		`body { background: url(https://t.example/p.gif) }`:              false,
		`body { background: url( '//t.example/p.gif' ) }`:                false,
		`@font-face { src: url(data:font/woff2;base64,AAAA) }`:           false,
		`<img src="//stats.example.net/p.gif">`:                          true,
		`<img/src=https://stats.example.net/p.gif>`:                      true,
		`<link rel=stylesheet href=https://cdn.jsdelivr.net/x.css>`:      true,
		`<a href='http://elsewhere.example/'>x</a>`:                      true,
		`<a href="/\elsewhere.example">x</a>`:                            true,
		`<a href="&#47;&#47;elsewhere.example">x</a>`:                    true,
		`<a href="  //elsewhere.example">x</a>`:                          true,
		`<a href="/` + "\t" + `/elsewhere.example">x</a>`:                true,
		`<img srcset="/a.png 1x, https://cdn.example/b.png 2x">`:         true,
		`<img src="data:image/gif;base64,R0lGOD">`:                       true,
		`<p style="background:url(https://t.example/p.gif)">`:            true,
		`<style>@import "https://t.example/x.css";</style>`:              true,
		`<form action="https://collect.example/">`:                       true,
		`<a href="privacy">relative: not from the root</a>`:              true,
	}
	for doc, isHTML := range bad {
		urls := pageURLs(doc, isHTML)
		ok := len(urls) > 0
		for _, u := range urls {
			ok = ok && sameOrigin(u)
		}
		if ok {
			t.Errorf("%q: found %q, all of this origin", doc, urls)
		}
	}
	good := `<link rel="stylesheet" href="/style.css"><a class="brand" href="/">x</a> <a href=/privacy>p</a> <a href='#top'>t</a>`
	urls := pageURLs(good, true)
	if len(urls) != 4 {
		t.Errorf("found %q in %q, want 4 URLs", urls, good)
	}
	for _, u := range urls {
		if !sameOrigin(u) {
			t.Errorf("%q is of this origin", u)
		}
	}
}

// embedFake is a fakeProvider that embeds too, or panics when it is asked
// to.
type embedFake struct {
	*fakeProvider
	panics bool
}

func (p embedFake) Embed(ctx context.Context, req *lyumen.EmbedRequest) (*lyumen.EmbedResponse, error) {
	if p.panics {
		panic("provider bug")
	}
	vecs := make([][]float64, len(req.Input))
	for i := range vecs {
		vecs[i] = []float64{0.5, -0.5}
	}
	return &lyumen.EmbedResponse{Model: "served", Vectors: vecs, Usage: &lyumen.Usage{PromptTokens: 1, TotalTokens: 1}}, nil
}

// TestPromise_NoCookiesNothingFromElsewhere proves "No cookies set, no
// analytics, no third-party scripts or CDNs on any page": no response of
// the public handler, on any route, answered or refused (malformed, too
// large with or without a Content-Length, unknown model, rate limited,
// over a concurrency limit, a limiter down) or failed (a panic before or
// after the response began), carries Set-Cookie; every response has the
// exact CSP of its kind; and no page or stylesheet refers to anything but
// this origin.
func TestPromise_NoCookiesNothingFromElsewhere(t *testing.T) {
	const maxBody = 4 << 10
	run := func(t *testing.T, srv *httptest.Server, ps []probe) {
		t.Helper()
		c := noRedirects(srv)
		for _, p := range ps {
			checkPromise(t, c, srv.URL, p)
		}
	}

	t.Run("every route, through the upstream router", func(t *testing.T) {
		g := newGateway(t) // operator's site: upstreams listed, secrets scrubbed
		run(t, g.srv, everyRoute(64<<10))
	})

	t.Run("every route, demo site", func(t *testing.T) {
		g := newLimited(t, httpapi.Options{MaxBodyBytes: maxBody, Site: httpapi.Site{Name: "Demo", Demo: true}},
			embedFake{fakeProvider: &fakeProvider{events: 3}})
		run(t, g.srv, everyRoute(maxBody))
	})

	t.Run("pages without models", func(t *testing.T) {
		srv := httptest.NewServer(httpapi.NewServer(httpapi.Options{Catalog: lyumen.NewCatalog(nil), Recorder: &kept{}, Provider: &fakeProvider{}}))
		t.Cleanup(srv.Close)
		run(t, srv, []probe{
			{method: "GET", path: "/", status: 200, page: true},
			{method: "GET", path: "/privacy", status: 200, page: true},
			{method: "GET", path: "/nowhere", status: 404, page: true},
		})
	})

	t.Run("rate limited", func(t *testing.T) {
		// One request a minute: after the first, every request to every
		// surface is a 429 with Retry-After.
		g := newLimited(t, httpapi.Options{Limiter: ratelimit.New(ratelimit.Options{RequestsPerMinute: 1})},
			embedFake{fakeProvider: &fakeProvider{events: 3}})
		run(t, g.srv, []probe{{method: "POST", path: "/v1/chat/completions", body: chatBody(false, "first"), status: 200}})
		run(t, g.srv, answered(always(429)))
	})

	t.Run("limiter down", func(t *testing.T) {
		g := newLimited(t, httpapi.Options{Limiter: &spyLimiter{err: errors.New("redis: connection refused")}},
			embedFake{fakeProvider: &fakeProvider{events: 3}})
		run(t, g.srv, answered(unavailable))
	})

	for _, tc := range []struct {
		name   string
		limits httpapi.Limits
		status func(apiSurface, bool) int
	}{
		{"client at its concurrency limit", httpapi.Limits{ClientConcurrency: 1}, always(429)},
		{"model at capacity", httpapi.Limits{Models: map[string]httpapi.ModelLimits{publicModel: {Concurrency: 1}}}, unavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hold, entered := make(chan struct{}), make(chan struct{}, 1)
			g := newLimited(t, httpapi.Options{Limits: tc.limits}, embedFake{fakeProvider: &fakeProvider{events: 2, hold: hold, entered: entered}})
			done := make(chan struct{})
			go func() {
				defer close(done)
				resp, err := g.srv.Client().Post(g.srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(chatBody(true, "held")))
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}()
			<-entered
			run(t, g.srv, answered(func(s apiSurface, stream bool) int {
				if s.path == "/v1/messages/count_tokens" { // counting runs no model
					return 200
				}
				return tc.status(s, stream)
			}))
			close(hold)
			<-done
		})
	}

	t.Run("panics", func(t *testing.T) {
		// Before the response began: a 500 in the surface's envelope.
		whole := newLimited(t, httpapi.Options{}, embedFake{fakeProvider: &fakeProvider{panics: "chat"}, panics: true})
		run(t, whole.srv, answered(func(s apiSurface, stream bool) int {
			if stream || s.path == "/v1/messages/count_tokens" { // no panic: a stream, or no model
				return 200
			}
			return 500
		}))
		stream := newLimited(t, httpapi.Options{}, &fakeProvider{panics: "stream"})
		mid := newLimited(t, httpapi.Options{}, &fakeProvider{events: 5, panics: "midstream"})
		for _, s := range apiSurfaces {
			if s.streams {
				run(t, stream.srv, []probe{{method: "POST", path: s.path, body: s.body(publicModel, true), status: 500}})
				// After: the connection is cut, the headers sent are checked.
				run(t, mid.srv, []probe{{method: "POST", path: s.path, body: s.body(publicModel, true), status: 200, cut: true}})
			}
		}
		// A Limiter's panic: in the exchange's recovery, and in the
		// handler's for count_tokens.
		lim := newLimited(t, httpapi.Options{Limiter: panicLimiter{}}, embedFake{fakeProvider: &fakeProvider{}})
		run(t, lim.srv, answered(always(500)))
		// A page's: the plain-text 500. With no catalogue every page and
		// every API route that looks a model up panics.
		srv := httptest.NewServer(httpapi.NewServer(httpapi.Options{Recorder: &kept{}, Provider: &fakeProvider{}}))
		t.Cleanup(srv.Close)
		run(t, srv, append([]probe{
			{method: "GET", path: "/", status: 500},
			{method: "GET", path: "/privacy", status: 500},
			{method: "GET", path: "/nowhere", status: 500},
			{method: "GET", path: "/style.css", status: 200},
			{method: "GET", path: "/healthz", status: 200},
			{method: "GET", path: "/v1/models", status: 500},
			{method: "GET", path: "/v1/models/" + publicModel, status: 500},
		}, answered(always(500))...))
	})
}
