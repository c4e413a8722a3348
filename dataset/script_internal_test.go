package dataset

import (
	"testing"
	"unicode"

	"github.com/abadojack/whatlanggo"
)

// FuzzDetectScript checks the shortcut against whatlanggo.
func FuzzDetectScript(f *testing.F) {
	for _, s := range []string{"", "Hello, world!", "1234 !?", "\x01\x02", "@[`{", "Привет", "héllo", "日本語のテキスト", "a\x00",
		"Grüße, Ωmega", "Привет, мир! 123", "ελληνικά", "e\u0301 ё", "Mix: hello привет", "ß\xff", "Ϣ Coptic", "ʃ ʒ ˈ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := detectScript(s), whatlanggo.DetectScript(s); got != want {
			t.Errorf("detectScript(%q) = %p, whatlanggo: %p", s, got, want)
		}
	})
}

// TestScriptOf checks that below U+0500 no character is in two of
// whatlanggo's scripts, which scriptOf, keeping one, assumes.
func TestScriptOf(t *testing.T) {
	for r := range rune(len(scriptOf)) {
		n := 0
		for s := range whatlanggo.Scripts {
			if unicode.Is(s, r) {
				n++
			}
		}
		if n > 1 {
			t.Errorf("U+%04X is in %d scripts", r, n)
		}
	}
}
