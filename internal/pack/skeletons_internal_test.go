package pack

import (
	"strings"
	"testing"

	"github.com/lyumen/lyumen"
)

// TestPacker_Forget: a short message stays in its record's skeleton, which
// the packer remembers; after Forget (a purge) no remembered skeleton
// holds it.
func TestPacker_Forget(t *testing.T) {
	const short = "call me Ishmael" // under the size of a piece: left in the skeleton
	p := New()
	rec := &lyumen.Record{ID: "r", Model: "m", Request: []byte(`{"model":"m","messages":[{"role":"user","content":"` + short + `"}]}`)}
	if _, _, err := p.Cut(rec); err != nil {
		t.Fatal(err)
	}
	holds := func() bool {
		p.skeletons.mu.Lock()
		defer p.skeletons.mu.Unlock()
		for _, m := range []map[string][]byte{p.skeletons.cur, p.skeletons.old} {
			for k := range m {
				if strings.Contains(k, short) {
					return true
				}
			}
		}
		return false
	}
	if !holds() {
		t.Fatal("no remembered skeleton holds the short message: the test proves nothing")
	}
	p.Forget()
	if holds() {
		t.Error("a remembered skeleton still holds the short message after Forget")
	}
	if _, _, err := p.Cut(rec); err != nil { // and it goes on remembering
		t.Fatal(err)
	}
	if !holds() {
		t.Error("after Forget, the packer remembers nothing new")
	}
}
