package dataset

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// normalizeByRune and minhashByRune are normalize and minhash without
// their ASCII fast paths: what those must agree with.
func normalizeByRune(msgs []Message) string {
	var b []byte
	for _, m := range msgs {
		b = append(b, m.Role...)
		b = append(b, ':', ' ')
		space := false
		for _, r := range m.Content {
			if unicode.IsSpace(r) {
				space = true
				continue
			}
			if space {
				b = append(b, ' ')
				space = false
			}
			b = utf8.AppendRune(b, unicode.ToLower(r))
		}
		for _, tc := range m.ToolCalls {
			b = append(b, ' ')
			b = append(b, tc.Name...)
			b = append(b, tc.Arguments...)
		}
		b = append(b, '\n')
	}
	return string(b)
}

func wordsByRune(text string) []string {
	var out []string
	start := -1
	for i, r := range text + " " {
		word := unicode.IsLetter(r) || unicode.IsDigit(r) || r == '[' || r == ']' || r == '_'
		switch {
		case word && start < 0:
			start = i
		case !word && start >= 0:
			out = append(out, text[start:i])
			start = -1
		}
	}
	return out
}

func TestNormalizeAndMinhash_ASCIIFastPath(t *testing.T) {
	pieces := []string{"Hello", "WORLD", "déjà", "Ünïcode", "日本語", "\t", "\n", " ", "\u00a0", "\u2003", "[EMAIL_1]", "snake_case",
		"x86", "42", ",", ".", "!", "\v", "\f", "\r", "\x85", "\xff", "İstanbul", "ΣΊΣΥΦΟΣ", "a-b", "'", "Ω"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		var b strings.Builder
		for range r.IntN(40) {
			b.WriteString(pieces[r.IntN(len(pieces))])
			if r.IntN(3) == 0 {
				b.WriteByte(' ')
			}
		}
		text := b.String()
		msgs := []Message{{Role: "user", Content: text}, {Role: "assistant", Content: strings.ToUpper(text)}}
		if got, want := normalize(msgs), normalizeByRune(msgs); got != want {
			t.Fatalf("normalize(%q) = %q, want %q", text, got, want)
		}
		// minhash: the same signature as one over wordsByRune's words.
		words := wordsByRune(text)
		joined := strings.Join(words, " ")
		if minhash(text) != minhash(joined) {
			t.Fatalf("minhash(%q) differs from minhash over its words %q", text, joined)
		}
	}
}
