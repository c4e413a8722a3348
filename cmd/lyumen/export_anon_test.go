package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/dataset/datasettest"
	"github.com/lyumen/lyumen/redact"
	"github.com/lyumen/lyumen/sqlite"
)

// TestKindsBut: export redacts every kind but those --keep names.
func TestKindsBut(t *testing.T) {
	for _, tc := range []struct {
		keep string
		off  []redact.Kind
	}{
		{"", nil},
		{"EMAIL", []redact.Kind{redact.Email}},
		{" ip, Phone ", []redact.Kind{redact.Phone, redact.IP}}, // in Kinds order
		{"SECRET", []redact.Kind{redact.Secret}},
		{kindNames(), redact.Kinds()}, // none left: not nil, which redact.New reads as all
	} {
		got, err := kindsBut(tc.keep)
		if err != nil {
			t.Fatalf("kindsBut(%q): %v", tc.keep, err)
		}
		r, err := redact.New(redact.Options{Kinds: got})
		if err != nil {
			t.Fatal(err)
		}
		if off := r.Off(); !slices.Equal(off, tc.off) {
			t.Errorf("--keep %q: the redactor leaves %v as written, want %v", tc.keep, off, tc.off)
		}
	}
	if _, err := kindsBut("EMAIL,NAME"); err == nil {
		t.Error("kindsBut accepted an unknown kind")
	}
}

// anonStore writes a SQLite store for the tests below: 12 German
// conversations, two from Liechtenstein, one sent three times, and one
// with an e-mail address and a phone number.
func anonStore(t *testing.T) (store string, recs []*lyumen.Record) {
	t.Helper()
	dir := t.TempDir()
	db, err := sqlite.Open(t.Context(), filepath.Join(dir, "lyumen.db"))
	if err != nil {
		t.Fatal(err)
	}
	id := func(i int) string { return fmt.Sprintf("00000000-0000-7000-8000-%012d", i) }
	topics := []string{"Go channels", "Rust lifetimes", "SQL joins", "CSS grid", "Python decorators", "Linux signals",
		"TCP handshakes", "DNS caching", "Git rebasing", "Docker layers", "Kafka partitions", "Unicode normalization"}
	for i, topic := range topics {
		recs = append(recs, datasettest.Rec(id(i), i, "An answer about "+topic+", long enough to keep.",
			fmt.Sprintf("Explain %s to me with an example, step %d of my course.", topic, i*37)))
	}
	for i := range 2 {
		r := datasettest.Rec(id(20+i), 20+i, "Ein Schloss, ja.", fmt.Sprintf("Welche Burgen gibt es in Vaduz, Teil %d?", i*91))
		r.Country = "LI"
		recs = append(recs, r)
	}
	for i := range 3 {
		recs = append(recs, datasettest.Rec(id(30+i), 30+i, "The same answer to the same question.", "The same question, sent three times by a script."))
	}
	mail := datasettest.Rec(id(40), 40, "Noted, I will write.", "Please write to planted.person@example-mail.org or call (415) 555-2671.")
	recs = append(recs, mail)
	if err := db.WriteRecords(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	db.Close()
	return "sqlite://" + filepath.Join(dir, "lyumen.db"), recs
}

// exportLines runs lyumen export --format sharegpt with args and returns
// the examples, the stats and the card.
func exportLines(t *testing.T, store string, args ...string) (exs []map[string]any, st map[string]any, card string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	var stderr bytes.Buffer
	args = append([]string{"export", "--store", store, "--format", "sharegpt", "--out", out, "--progress", "none", "--memory-limit-mb", "0"}, args...)
	if err := run(t.Context(), args, func(string) string { return "" }, io.Discard, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	files, _ := filepath.Glob(filepath.Join(out, "data", "*.jsonl"))
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var ex map[string]any
			if err := json.Unmarshal(sc.Bytes(), &ex); err != nil {
				t.Fatal(err)
			}
			exs = append(exs, ex)
		}
		f.Close()
	}
	b, err := os.ReadFile(filepath.Join(out, "stats.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	c, err := os.ReadFile(filepath.Join(out, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return exs, st, string(c)
}

// TestExport_Defaults: with no flags, lyumen export keeps the privacy
// page's promises: every kind redacted, countries under k=10 blanked,
// duplicates dropped, ids neither the records' nor the same in two exports.
func TestExport_Defaults(t *testing.T) {
	store, recs := anonStore(t)
	exs, st, card := exportLines(t, store)
	if len(exs) != 16 { // 12 DE + 2 LI + the one sent thrice, once + the e-mail
		t.Errorf("%d examples, want 16", len(exs))
	}
	if st["exact_duplicates"].(float64) != 2 {
		t.Errorf("exact_duplicates %v, want 2", st["exact_duplicates"])
	}
	if st["k"].(float64) != 10 {
		t.Errorf("k %v, want 10", st["k"])
	}
	if _, ok := st["kinds_not_redacted"]; ok || strings.Contains(card, "Not for release") {
		t.Errorf("a default export says kinds were kept (%v) or is not for release:\n%s", st["kinds_not_redacted"], card)
	}
	byCountry := st["by_country"].(map[string]any)
	if _, ok := byCountry["LI"]; ok {
		t.Errorf("stats by country %v name LI, with 2 conversations", byCountry)
	}
	all, _ := json.Marshal(exs)
	for _, leak := range []string{`"country":"LI"`, "| LI |", "planted.person", "555-2671"} {
		if strings.Contains(string(all), leak) || strings.Contains(card, leak) {
			t.Errorf("the export has %s", leak)
		}
	}
	ids := map[string]bool{}
	for _, ex := range exs {
		ids[ex["id"].(string)] = true
	}
	for _, r := range recs {
		if ids[r.ID] || ids[strings.ReplaceAll(r.ID, "-", "")] {
			t.Errorf("record id %s exported as an example's", r.ID)
		}
	}
	again, _, _ := exportLines(t, store)
	for _, ex := range again {
		if ids[ex["id"].(string)] {
			t.Errorf("id %v in two exports: ids must match only within one", ex["id"])
		}
	}
}

// TestExport_KeepAndK: --keep leaves the named kinds as written and only
// those, and the card says not for release; --k releases a country from k.
func TestExport_KeepAndK(t *testing.T) {
	store, _ := anonStore(t)
	exs, st, card := exportLines(t, store, "--keep", "EMAIL", "--k", "2")
	all, _ := json.Marshal(exs)
	if !strings.Contains(string(all), "planted.person@example-mail.org") {
		t.Error("--keep EMAIL: the address was redacted")
	}
	if strings.Contains(string(all), "555-2671") || !strings.Contains(string(all), "[PHONE_1]") {
		t.Error("--keep EMAIL: the phone number was not redacted")
	}
	if kept, _ := json.Marshal(st["kinds_not_redacted"]); string(kept) != `["EMAIL"]` {
		t.Errorf("kinds_not_redacted %s, want [\"EMAIL\"]", kept)
	}
	if !strings.Contains(card, "**Not for release.**") || !strings.Contains(card, "some personal data kept (EMAIL)") {
		t.Errorf("card:\n%s", card)
	}
	if n := st["by_country"].(map[string]any)["LI"]; n != 2.0 {
		t.Errorf("--k 2: LI counted %v, want 2", n)
	}
}

// TestStats_K: lyumen stats suppresses the cells under --k in every
// format, and only those.
func TestStats_K(t *testing.T) {
	store, _ := anonStore(t)
	for _, format := range []string{"json", "csv", "text"} {
		for _, k := range []string{"2", "3"} {
			var stdout bytes.Buffer
			if err := run(t.Context(), []string{"stats", "--store", store, "--format", format, "--k", k, "--progress", "none"},
				func(string) string { return "" }, &stdout, io.Discard); err != nil {
				t.Fatal(err)
			}
			if shown := strings.Contains(stdout.String(), "LI"); shown != (k == "2") {
				t.Errorf("--format %s --k %s: LI (2 records) shown: %v\n%s", format, k, shown, stdout.String())
			}
		}
	}
}
