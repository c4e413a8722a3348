package pack_test

import (
	"testing"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/pack"
)

// TestPacker_Forget: a short message stays in its record's skeleton, which
// the packer remembers; after Forget (a purge) no remembered skeleton
// holds it.
func TestPacker_Forget(t *testing.T) {
	const short = "call me Ishmael" // under the size of a piece: left in the skeleton
	p := pack.New()
	rec := &lyumen.Record{ID: "r", Model: "m", Request: []byte(`{"model":"m","messages":[{"role":"user","content":"` + short + `"}]}`)}
	if _, _, err := p.Cut(rec); err != nil {
		t.Fatal(err)
	}
	if !p.Remembers(short) {
		t.Fatal("no remembered skeleton holds the short message: the test proves nothing")
	}
	p.Forget()
	if p.Remembers(short) {
		t.Error("a remembered skeleton still holds the short message after Forget")
	}
	if _, _, err := p.Cut(rec); err != nil { // and it goes on remembering
		t.Fatal(err)
	}
	if !p.Remembers(short) {
		t.Error("after Forget, the packer remembers nothing new")
	}
}
