package dataset

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// shingles is the exact set minhash estimates.
func shingles(text string) map[string]bool {
	w := strings.Fields(text)
	out := map[string]bool{}
	for i := 0; i+shingleWords <= len(w); i++ {
		out[strings.Join(w[i:i+shingleWords], " ")] = true
	}
	return out
}

func jaccard(a, b map[string]bool) float64 {
	inter := 0
	for s := range a {
		if b[s] {
			inter++
		}
	}
	return float64(inter) / float64(len(a)+len(b)-inter)
}

func estimate(a, b signature) float64 {
	same := 0
	for i := range a {
		if a[i] == b[i] {
			same++
		}
	}
	return float64(same) / permutations
}

// TestMinhash_EstimatesJaccard: over pairs of texts with known shingle
// overlap, the one-permutation estimate is within 0.12 of the exact
// Jaccard similarity (about 3.5 standard deviations at 128 bins).
func TestMinhash_EstimatesJaccard(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	words := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("w%d", r.IntN(5000))
		}
		return out
	}
	var worst float64
	for _, size := range []int{12, 60, 400} {
		for _, changed := range []float64{0, 0.01, 0.03, 0.1, 0.3, 0.6, 1} {
			a := words(size)
			b := append([]string(nil), a...)
			for i := range b {
				if r.Float64() < changed {
					b[i] = fmt.Sprintf("x%d", r.IntN(5000))
				}
			}
			ta, tb := strings.Join(a, " "), strings.Join(b, " ")
			exact, est := jaccard(shingles(ta), shingles(tb)), estimate(minhash(ta), minhash(tb))
			worst = max(worst, math.Abs(exact-est))
			if math.Abs(exact-est) > 0.12 {
				t.Errorf("%d words, %.0f%% changed: Jaccard %.3f, estimate %.3f", size, 100*changed, exact, est)
			}
		}
	}
	t.Logf("largest error %.3f", worst)
}

func TestDeduper_Decide(t *testing.T) {
	var d deduper
	msg := func(s string) []Message { return []Message{{Role: "user", Content: s}} }
	var words []string
	for i := range 150 {
		words = append(words, fmt.Sprintf("word%d", i*7%151))
	}
	base := strings.Join(words, " ")
	steps := []struct {
		text string
		want dupKind
	}{
		{base, unique},
		{strings.ToUpper(base), exactDup},
		{base + " and one more sentence at the end", nearDup},
		{"something else entirely, about databases and indexes and how they speed up queries", unique},
		{"", unique},
	}
	for i, s := range steps {
		h, sig := prepareDedup(msg(s.text))
		if got := d.decide(h, &sig); got != s.want {
			t.Errorf("step %d: %v, want %v", i, got, s.want)
		}
	}
}
