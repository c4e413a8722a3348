package dataset

import (
	"testing"

	"github.com/abadojack/whatlanggo"
)

// FuzzDetectScript checks the ASCII shortcut against whatlanggo.
func FuzzDetectScript(f *testing.F) {
	for _, s := range []string{"", "Hello, world!", "1234 !?", "\x01\x02", "@[`{", "Привет", "héllo", "日本語のテキスト", "a\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := detectScript(s), whatlanggo.DetectScript(s); got != want {
			t.Errorf("detectScript(%q) = %p, whatlanggo: %p", s, got, want)
		}
	})
}
