package lyumen_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen"
)

func TestClip(t *testing.T) {
	a := func(n int) string { return strings.Repeat("a", n) }
	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"short", "gpt-4o", "gpt-4o"},
		{"at the limit", a(256), a(256)},
		{"one byte over", a(257), a(256) + "…"},
		{"huge", a(1 << 20), a(256) + "…"},
		{"rune ends at the limit", a(254) + "é" + "b", a(254) + "é…"},
		{"limit inside a 2-byte rune", a(255) + "é", a(255) + "…"},
		{"limit inside a 3-byte rune", a(254) + "€b", a(254) + "…"},
		{"limit inside a 4-byte rune", a(253) + "😀b", a(253) + "…"},
		{"multi-byte throughout", "x" + strings.Repeat("é", 200), "x" + strings.Repeat("é", 127) + "…"},
		{"invalid UTF-8 is cut at the limit", strings.Repeat("\x80", 300), strings.Repeat("\x80", 256) + "…"},
		{"invalid UTF-8 after text is cut at the limit", a(253) + strings.Repeat("\x80", 10), a(253) + strings.Repeat("\x80", 3) + "…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, lyumen.Clip(tc.in)); diff != "" {
				t.Errorf("Clip (-want +got):\n%s", diff)
			}
		})
	}
}
