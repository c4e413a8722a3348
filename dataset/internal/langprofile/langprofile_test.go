package langprofile_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/abadojack/whatlanggo"

	"github.com/lyumen/lyumen/dataset/internal/langprofile"
)

// samples are whatlanggo's own test sentences, and pieces of them.
func samples(tb testing.TB) []string {
	tb.Helper()
	out, err := exec.CommandContext(tb.Context(), "go", "list", "-m", "-f", "{{.Dir}}", "github.com/abadojack/whatlanggo").Output()
	if err != nil {
		tb.Skipf("find whatlanggo: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "testdata", "examples.json"))
	if err != nil {
		tb.Skipf("whatlanggo's test data: %v", err)
	}
	var ex map[string]string
	if err := json.Unmarshal(b, &ex); err != nil {
		tb.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	var texts []string
	for _, t := range ex {
		texts = append(texts, t)
		w := strings.Fields(t)
		for range 5 {
			i := r.IntN(len(w))
			texts = append(texts, strings.Join(w[i:min(len(w), i+3+r.IntN(12))], " "))
		}
	}
	return texts
}

// TestDetect_AgreesWithWhatlanggo: the same language and confidence as
// whatlanggo on every sample it ranks by trigrams, unless whatlanggo's own
// answer depends on a tie (it breaks ties in map order, at random).
func TestDetect_AgreesWithWhatlanggo(t *testing.T) {
	n, same := 0, 0
	for _, text := range samples(t) {
		script := whatlanggo.DetectScript(text)
		x := langprofile.For(script)
		if x == nil {
			continue
		}
		n++
		want := whatlanggo.DetectWithOptions(text, whatlanggo.Options{})
		code, conf := x.Detect(text, nil)
		again := whatlanggo.DetectWithOptions(text, whatlanggo.Options{})
		if want.Lang != again.Lang || want.Confidence == 0 && conf == 0 {
			// A tie at the top: whatlanggo breaks it in map order, at random.
			same++
			continue
		}
		if code == want.Lang.Iso6393() && math.Abs(conf-want.Confidence) < 1e-9 {
			same++
			continue
		}
		t.Errorf("%q: got %s %.3f, whatlanggo %s %.3f", text, code, conf, want.Lang.Iso6393(), want.Confidence)
	}
	if n < 200 {
		t.Errorf("only %d samples", n)
	}
	t.Logf("%d of %d samples agree", same, n)
}

func BenchmarkDetect(b *testing.B) {
	text := "Can you help me refactor this function? It reads records from a database and writes them to a file, but loads everything into memory first. I would like it to stream rows and print progress every ten thousand rows."
	b.Run("langprofile", func(b *testing.B) {
		x := langprofile.For(whatlanggo.DetectScript(text))
		for b.Loop() {
			x.Detect(text, nil)
		}
	})
	b.Run("whatlanggo", func(b *testing.B) {
		for b.Loop() {
			whatlanggo.DetectWithOptions(text, whatlanggo.Options{})
		}
	})
	_ = fmt.Sprint()
}
