package redact

import (
	"bufio"
	"cmp"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/zricethezav/gitleaks/v8/detect"
)

// TestRules_AgreeWithGitleaks runs gitleaks' own detector and this
// package's engine over the same rules on the labelled corpus and on text
// built to trip the generic rule, and wants the same secrets from both.
// The engine differs from the detector only in how it decides which rules
// to run (keyword windows, the assignment precondition of
// generic-api-key), never in what a rule finds.
func TestRules_AgreeWithGitleaks(t *testing.T) {
	rs, err := loadRules()
	if err != nil {
		t.Fatal(err)
	}
	d, err := detect.NewDetectorDefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("testdata/corpus.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var texts []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e struct{ Text string }
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		texts = append(texts, e.Text)
	}
	texts = append(texts,
		`api_key = "A1b2C3d4E5f6G7h8I9j0"`, `token: 'zzzzzzzzzzzzzzzz'`, `const secret = process.env.SECRET`,
		`client_secret=Xy9_Zk3mQ9xL2pR7tW4v`, "the access token is stored in the auth header,   key => Zk3mQ9xL2pR7tW4vB8nC",
		strings.Repeat("some padding text that is long enough to push the match past a window edge ", 12)+`password = "Tr0ub4dor&3xyz!"`,
	)
	mismatches := 0
	for _, text := range texts {
		var ours []string
		rs.run(text, asciiLower(text), func(start, end int, k Kind, prio int) { ours = append(ours, text[start:end]) })
		var theirs []string
		for _, fd := range d.DetectString(text) {
			if replacedRules[fd.RuleID] {
				continue
			}
			theirs = append(theirs, fd.Secret)
		}
		slices.Sort(ours)
		slices.Sort(theirs)
		ours, theirs = slices.Compact(ours), slices.Compact(theirs)
		if !slices.Equal(ours, theirs) {
			mismatches++
			if mismatches <= 10 {
				t.Errorf("%q:\n ours   %q\n theirs %q", text, ours, theirs)
			}
		}
	}
	t.Logf("%d texts, %d differ", len(texts), mismatches)
}

// FuzzKeywords checks the keyword automaton against the plain search it
// replaces: every occurrence of every keyword, overlapping ones included
// ("sk" inside "sk-ant-api03"), whatever the text.
func FuzzKeywords(f *testing.F) {
	for _, s := range []string{"", "sk-ant-api03-xyz and the api key", "xoxe.xoxb-1 s.abc", "passwordpasswd", "tokentoken\xff"} {
		f.Add(s)
	}
	rs, err := loadRules()
	if err != nil {
		f.Fatal(err)
	}
	type hit struct {
		kw  string
		pos int
	}
	f.Fuzz(func(t *testing.T, text string) {
		var want, got []hit
		for i := range len(text) {
			for _, kw := range rs.keywords {
				if strings.HasPrefix(text[i:], kw) {
					want = append(want, hit{kw, i})
				}
			}
		}
		for _, m := range rs.trie.FindAllOverlapping([]byte(text)) {
			got = append(got, hit{rs.keywords[m.PatternID], m.Start})
		}
		order := func(a, b hit) int { return cmp.Or(a.pos-b.pos, strings.Compare(a.kw, b.kw)) }
		slices.SortFunc(want, order)
		slices.SortFunc(got, order)
		if !slices.Equal(want, got) {
			t.Fatalf("keywords in %q: got %v, want %v", text, got, want)
		}
	})
}

// FuzzPasswordWord checks that passwordWord holds wherever passwordRe
// matches (Spanish and the long s aside, which findPasswords checks on
// their own).
func FuzzPasswordWord(f *testing.F) {
	for _, s := range []string{"password: hunter2", "the compass is", "db_pass=x", "mot de passe : x", "PWD=1", "bypass: 1", "Passwort ist", "pass\u00e9 = 3", "pa\u017f\u017fword: x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if passwordRe.MatchString(text) && !strings.Contains(asciiLower(text), "contrase") && !strings.Contains(text, "ſ") &&
			!passwordWord(asciiLower(text)) {
			t.Fatalf("passwordRe matches %q but passwordWord says no", text)
		}
	})
}
