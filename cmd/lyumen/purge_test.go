package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/dataset/datasettest"
	"github.com/lyumen/lyumen/sqlite"
)

// TestPurge runs "lyumen purge" on a SQLite store: by id (with one that
// is not there), then by date, and checks what is left.
func TestPurge(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "lyumen.db")
	db, err := sqlite.Open(t.Context(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	a := datasettest.Rec("00000000-0000-7000-8000-000000000001", 1, "An answer that only the first record has.", "A question?")
	b := datasettest.Rec("00000000-0000-7000-8000-000000000002", 2, "An answer that only the second record has.", "A question?")
	if err := db.WriteRecords(t.Context(), []*lyumen.Record{a, b}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	store := "sqlite://" + dbPath
	purge := func(args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if err := run(t.Context(), append([]string{"purge", "--store", store}, args...), func(string) string { return "" }, &stdout, &stderr); err != nil {
			t.Fatalf("purge %v: %v\n%s", args, err, stderr.String())
		}
		return stdout.String()
	}

	out := purge("--id", a.ID, "--id", "00000000-0000-7000-8000-000000000009")
	// The answer only a had goes; the question both asked stays.
	if !strings.Contains(out, "purged 1 records and 1 pieces") || !strings.Contains(out, "not found: 00000000-0000-7000-8000-000000000009") {
		t.Errorf("stdout: %s", out)
	}
	// A time to come is refused: the store would refuse every record until
	// then, answered and never stored.
	var stderr bytes.Buffer
	if err := run(t.Context(), []string{"purge", "--store", store, "--before", "2100-01-01"}, func(string) string { return "" }, &bytes.Buffer{}, &stderr); err == nil ||
		!strings.Contains(err.Error(), "later than now") {
		t.Errorf("purge --before 2100-01-01: %v; want it refused", err)
	}
	out = purge("--before", time.Now().UTC().Format(time.RFC3339))
	if !strings.Contains(out, "purged 1 records") {
		t.Errorf("stdout: %s", out)
	}
	db, err = sqlite.Open(t.Context(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n, err := db.Count(t.Context()); err != nil || n != 0 {
		t.Errorf("Count = %d, %v; want 0", n, err)
	}

	if err := run(t.Context(), []string{"purge", "--store", store}, func(string) string { return "" }, &bytes.Buffer{}, &stderr); err == nil {
		t.Error("purge with neither --id nor --before: no error")
	}
}

// TestReadCommands_NoStore: stats, export and purge do not create a SQLite
// store that is not there: a mistyped path or the wrong directory would
// answer "0 records", an empty dataset, or "not found" to a deletion.
func TestReadCommands_NoStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "typo.db")
	for _, args := range [][]string{
		{"stats"},
		{"export", "--out", filepath.Join(t.TempDir(), "out")},
		{"purge", "--id", "00000000-0000-7000-8000-000000000001"},
	} {
		err := run(t.Context(), append(args, "--store", "sqlite://"+path), func(string) string { return "" }, &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "no store at") {
			t.Errorf("%s: %v; want it refused", args[0], err)
		}
		if _, err := os.Stat(path); err == nil {
			t.Fatalf("%s created %s", args[0], path)
		}
	}
}
