package httpapi_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/lyumen/lyumen/httpapi"
)

// TestLimits_PanicMidStreamKeepsWhatTheClientSaw: a stream cut by a panic
// after the client got part of an answer is recorded with that part: a
// completion the client received is never lost from the log.
func TestLimits_PanicMidStreamKeepsWhatTheClientSaw(t *testing.T) {
	g := newLimited(t, httpapi.Options{}, &fakeProvider{events: 5, panics: "midstream"})
	resp, err := g.srv.Client().Post(g.srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(chatBody(true, "boom")))
	if err != nil {
		t.Fatal(err)
	}
	seen, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(seen), "content") {
		t.Fatalf("%s %q: want part of an answer before the cut", resp.Status, seen)
	}
	recs := g.recs.all()
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	if r := recs[0].Response; r == nil || len(r.Choices) == 0 || r.Choices[0].Message.Text() == "" {
		t.Errorf("recorded answer %+v; want the part the client was sent (%q)", r, seen)
	}
}
