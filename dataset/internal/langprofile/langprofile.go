// Package langprofile ranks a text against whatlanggo's trigram profiles
// of the Latin and Cyrillic scripts exactly as whatlanggo does, but through
// an inverted index: whatlanggo looks each of a profile's 300 trigrams up
// in the text's trigram map, for every language of the script (48 Latin
// ones: 14,400 map lookups per text); here each of the text's trigrams is
// looked up once in an index of all profiles. Same distances, same
// confidence, about ten times faster (see TestDetect_AgreesWithWhatlanggo).
package langprofile

//go:generate go run gen.go

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

type profile struct {
	code     string // ISO 639-3
	trigrams string // "|"-separated, most frequent first
}

// whatlanggo's constants.
const (
	maxTrigramDistance = 300
	maxTotalDistance   = 90000
)

type entry struct {
	lang uint16
	rank uint16
}

// Index is the profiles of one script, inverted.
type Index struct {
	codes []string
	sizes []int              // trigrams per profile
	index map[uint64][]entry // trigram (packed) → where it ranks in each profile
}

func newIndex(ps []profile) *Index {
	x := &Index{index: map[uint64][]entry{}}
	for i, p := range ps {
		tris := strings.Split(p.trigrams, "|")
		x.codes = append(x.codes, p.code)
		x.sizes = append(x.sizes, len(tris))
		for r, t := range tris {
			rs := []rune(t)
			k := pack3(rs[0], rs[1], rs[2])
			x.index[k] = append(x.index[k], entry{uint16(i), uint16(r)})
		}
	}
	return x
}

// The indexes, built once; nothing writes them after.
var (
	latin    = newIndex(latinLangs)
	cyrillic = newIndex(cyrillicLangs)
)

// For returns the index of a script, or nil when whatlanggo has no
// profiles to rank for it (one language per script, or none).
func For(script *unicode.RangeTable) *Index {
	switch script {
	case unicode.Latin:
		return latin
	case unicode.Cyrillic:
		return cyrillic
	}
	return nil
}

// pack3 packs a trigram into 63 bits, 21 per code point. Packed trigrams
// order as their strings do: UTF-8 preserves code point order.
func pack3(a, b, c rune) uint64 { return uint64(a)<<42 | uint64(b)<<21 | uint64(c) }

type trigram struct {
	t     uint64
	count int
}

// positions counts text's trigrams as whatlanggo does (punctuation, symbols
// and digits become spaces; lower case; no trigram of a lone space) and
// ranks them: most frequent first, ties in descending string order. It
// sorts instead of counting in a map: a few hundred trigrams.
func positions(text string) []trigram { return new(scratch).positions(text) }

// scratch holds a Detect call's working slices, reused through a pool:
// they were a tenth of its cost and most of its garbage.
type scratch struct {
	all       []uint64
	desc, out []trigram
	next      []int
	score     []int
}

var scratches = sync.Pool{New: func() any { return new(scratch) }}

func (sc *scratch) positions(text string) []trigram {
	all := sc.all[:0]
	r1, r2 := ' ', rune(-1)
	for i := 0; i <= len(text); {
		r := ' ' // after the text: its last trigram ends in a space
		switch {
		case i == len(text):
			i++
		case text[i] < utf8.RuneSelf:
			r = smallFold[text[i]]
			i++
		default:
			var n int
			r, n = utf8.DecodeRuneInString(text[i:])
			if r < rune(len(smallFold)) {
				r = smallFold[r]
			} else {
				r = fold(r)
			}
			i += n
		}
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
	sc.all = all
	// Distinct trigrams in descending order, counted; then a stable
	// counting sort by count, highest first, keeps that order among equal
	// counts (a comparison sort was half of this function).
	desc := sc.desc[:0]
	most := 0
	for j := len(all); j > 0; {
		i := j - 1
		for i > 0 && all[i-1] == all[j-1] {
			i--
		}
		desc = append(desc, trigram{all[j-1], j - i})
		most = max(most, j-i)
		j = i
	}
	sc.desc = desc
	next := append(sc.next[:0], make([]int, most+1)...) // by most-count: where the next trigram with that count goes
	sc.next = next
	for _, t := range desc {
		next[most-t.count]++
	}
	for b, sum := 0, 0; b <= most; b++ {
		next[b], sum = sum, sum+next[b]
	}
	out := append(sc.out[:0], make([]trigram, len(desc))...)
	sc.out = out
	for _, t := range desc {
		out[next[most-t.count]] = t
		next[most-t.count]++
	}
	return out
}

// fold is what a character counts as in a trigram: a space for
// punctuation, symbols and digits, lower case otherwise.
func fold(r rune) rune {
	if IsStop(r) {
		return ' '
	}
	return unicode.ToLower(r)
}

// smallFold is fold of every character below U+0500 (ASCII, the Latin
// letters of European languages, Greek, Cyrillic), looked up instead of
// four Unicode table searches and a case mapping per character.
var smallFold = func() (t [0x500]rune) {
	for r := range rune(len(t)) {
		t[r] = fold(r)
	}
	return t
}()

// IsStop reports whether whatlanggo skips r, in trigrams (as a space) and
// in script detection: symbols, spaces, punctuation and digits.
func IsStop(r rune) bool {
	return unicode.IsSymbol(r) || unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsDigit(r)
}

// Detect returns the closest language (ISO 639-3) and whatlanggo's
// confidence, leaving out the languages skip says to; "" when none is left
// or nothing matched.
func (x *Index) Detect(text string, skip func(code string) bool) (string, float64) {
	sc := scratches.Get().(*scratch)
	defer scratches.Put(sc)
	tris := sc.positions(text)
	score := append(sc.score[:0], make([]int, len(x.codes))...)
	sc.score = score
	for pos, t := range tris {
		for _, e := range x.index[t.t] {
			if d := pos - int(e.rank); d < 0 {
				score[e.lang] += maxTrigramDistance + d
			} else {
				score[e.lang] += maxTrigramDistance - d
			}
		}
	}
	type dist struct {
		lang int
		d    int
	}
	var ds []dist
	for i := range x.codes {
		if skip != nil && skip(x.codes[i]) {
			continue
		}
		ds = append(ds, dist{i, maxTrigramDistance*x.sizes[i] - score[i]})
	}
	switch len(ds) {
	case 0:
		return "", 0
	case 1:
		return x.codes[ds[0].lang], 1
	}
	slices.SortStableFunc(ds, func(a, b dist) int { return cmp.Compare(a.d, b.d) })
	score1, score2 := maxTotalDistance-ds[0].d, maxTotalDistance-ds[1].d
	switch {
	case score1 == 0:
		return "", 0
	case score2 == 0:
		// whatlanggo computes float64(score1 / 500.0) with score1 an int:
		// an integer division, so 0 below 500. Kept, to give its answers.
		return x.codes[ds[0].lang], min(1, float64(score1/500))
	}
	rate := float64(score1-score2) / float64(score2)
	confident := 12/float64(len(tris)) + 0.05
	if rate > confident {
		return x.codes[ds[0].lang], 1
	}
	return x.codes[ds[0].lang], rate / confident
}
