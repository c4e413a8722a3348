package httpapi_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/httpapi"
)

// TestPrivacy_Contact: the privacy page tells a user to quote
// X-Request-Id when asking the operator to delete a record; it names the
// contact when one is set, and says plainly when none is (the default),
// where it said nothing and left the promise without a way to act on it.
func TestPrivacy_Contact(t *testing.T) {
	catalog := lyumen.NewCatalog([]lyumen.Model{{Name: "m", Targets: []lyumen.Target{{Provider: "p", Model: "x"}}}})
	for _, tc := range []struct{ contact, want string }{
		{"privacy@example.org", "privacy@example.org"},
		{"", "has published no contact"},
	} {
		srv := httptest.NewServer(httpapi.NewServer(httpapi.Options{Catalog: catalog,
			Site: httpapi.Site{Contact: tc.contact, Upstreams: []httpapi.Upstream{{Name: "p", Host: "api.example"}}}}))
		resp, err := http.Get(srv.URL + "/privacy")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		srv.Close()
		page := string(b)
		if !strings.Contains(page, "ask the operator to delete") || !strings.Contains(page, "<h2>Contact</h2>") || !strings.Contains(page, tc.want) {
			t.Errorf("contact %q: the page lacks the deletion paragraph, the Contact section or %q:\n%s", tc.contact, tc.want, page)
		}
	}
}
