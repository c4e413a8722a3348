package langprofile

import (
	"cmp"
	"slices"
	"testing"
	"unicode"
)

// positionsRef is positions as first written: rune by rune through the
// Unicode tables, over text with a space appended.
func positionsRef(text string) []uint64 {
	var all []uint64
	r1, r2 := ' ', rune(-1)
	for _, r := range text + " " {
		if IsStop(r) {
			r = ' '
		}
		r = unicode.ToLower(r)
		if r2 == -1 {
			r2 = r
			continue
		}
		r3 := r
		if !(r2 == ' ' && (r1 == ' ' || r3 == ' ')) {
			all = append(all, pack3(r1, r2, r3))
		}
		r1, r2 = r2, r3
	}
	slices.Sort(all)
	return all
}

// FuzzPositions checks the ASCII table and the decoding loop against the
// rune-by-rune original: the same trigrams, as often, whatever the text.
func FuzzPositions(f *testing.F) {
	for _, s := range []string{"", "Hello, World! 123", "Привет, мир", "a\xffb", "ÀÉÎ õü", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var got []uint64 // every trigram as often as counted
		for _, tr := range positions(s) {
			for range tr.count {
				got = append(got, tr.t)
			}
		}
		slices.Sort(got)
		if want := positionsRef(s); !slices.Equal(got, want) {
			t.Errorf("positions(%q) = %x, want %x", s, got, want)
		}
		ranked := func(a, b trigram) int { // most frequent first, ties in descending order
			if a.count != b.count {
				return cmp.Compare(b.count, a.count)
			}
			return cmp.Compare(b.t, a.t)
		}
		if p := positions(s); !slices.IsSortedFunc(p, ranked) {
			t.Errorf("positions(%q) = %v, not ranked", s, p)
		}
	})
}
