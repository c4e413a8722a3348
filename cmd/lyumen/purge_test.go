package main

import (
	"bytes"
	"context"
	"database/sql"
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

// TestPurge_Refused: a purge whose arguments are wrong, or whose time is
// to come, is refused before it deletes anything, even by the --id it was
// also given; a time to come is refused before the store is opened.
func TestPurge_Refused(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "lyumen.db")
	db, err := sqlite.Open(t.Context(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	a := datasettest.Rec("00000000-0000-7000-8000-000000000001", 1, "An answer that must stay.", "A question?")
	if err := db.WriteRecords(t.Context(), []*lyumen.Record{a}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	missing := filepath.Join(t.TempDir(), "typo.db")
	for _, tc := range []struct {
		name, store string
		args        []string
		want        string
	}{
		{"a date that is none", dbPath, []string{"--id", a.ID, "--before", "2025-13-45"}, "before"},
		{"a time without a zone", dbPath, []string{"--id", a.ID, "--before", "2025-06-01T00:00:00"}, "before"},
		{"a time to come", dbPath, []string{"--id", a.ID, "--before", "2100-01-01"}, "later than now"},
		{"a time to come, no store", missing, []string{"--before", "2100-01-01"}, "later than now"},
		{"neither --id nor --before", dbPath, nil, "give --id or --before"},
		// The flag package stops at the second id: all of it must be refused,
		// not the first id purged and the rest ignored.
		{"a second id without its flag", dbPath, []string{"--id", a.ID, "00000000-0000-7000-8000-000000000002", "--id", "00000000-0000-7000-8000-000000000003"}, "unexpected argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout bytes.Buffer
			err := run(t.Context(), append([]string{"purge", "--store", "sqlite://" + tc.store}, tc.args...), func(string) string { return "" }, &stdout, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("purge %v: %v; want an error about %q", tc.args, err, tc.want)
			}
			if strings.Contains(stdout.String(), "purged") {
				t.Errorf("stdout: %s", stdout.String())
			}
		})
	}
	db, err = sqlite.Open(t.Context(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Record(t.Context(), a.ID); err != nil {
		t.Errorf("the record after the refused purges: %v", err)
	}
}

// TestCommands_StrayArguments: a word no flag takes is refused by every
// command, before it does anything.
func TestCommands_StrayArguments(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"serve", "--listen", "127.0.0.1:0", "stray"},
		{"migrate", "--store", "sqlite://" + filepath.Join(dir, "m.db"), "stray"},
		{"export", "--store", "sqlite://" + filepath.Join(dir, "e.db"), "--out", filepath.Join(dir, "out"), "stray"},
		{"stats", "--store", "sqlite://" + filepath.Join(dir, "s.db"), "stray"},
		{"purge", "--store", "sqlite://" + filepath.Join(dir, "p.db"), "--before", "2020-01-01", "stray"},
	} {
		err := run(t.Context(), args, func(string) string { return "" }, &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), `unexpected argument "stray"`) {
			t.Errorf("%v: %v; want the stray argument refused", args, err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		t.Errorf("a refused command left %v", entries)
	}
}

// TestPurge_Output: what purge prints says how many records and how many
// pieces of content it deleted, each its own number; an --id pasted with
// spaces around it is found; and a warning from the store is printed.
func TestPurge_Output(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "lyumen.db")
	db, err := sqlite.Open(t.Context(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	// A question and an answer long enough to be pieces of content of their own.
	a := datasettest.Rec("00000000-0000-7000-8000-000000000001", 1, "An answer that only the first record has, long enough.", "A question only the first record asks, long enough?")
	b := datasettest.Rec("00000000-0000-7000-8000-000000000002", 2, "An answer that only the second record has, long enough.", "A question only the second record asks, long enough?")
	if err := db.WriteRecords(t.Context(), []*lyumen.Record{a, b}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	store := "sqlite://" + dbPath
	purge := func(ctx context.Context, args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if err := run(ctx, append([]string{"purge", "--store", store}, args...), func(string) string { return "" }, &stdout, &stderr); err != nil {
			t.Fatalf("purge %v: %v\n%s", args, err, stderr.String())
		}
		return stdout.String()
	}
	if out := purge(t.Context(), "--id", " "+a.ID+"\n"); !strings.Contains(out, "purged 1 records and 2 pieces") || strings.Contains(out, "not found") {
		t.Errorf("stdout: %s", out)
	}

	// While another connection reads, the store cannot empty its
	// write-ahead log, and says so (after about two seconds of tries).
	raw, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	reader, err := raw.BeginTx(t.Context(), &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Rollback()
	var n int
	if err := reader.QueryRowContext(t.Context(), `SELECT count(*) FROM records`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the reader sees %d records, %v", n, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 6*time.Second)
	defer cancel()
	if out := purge(ctx, "--id", b.ID); !strings.Contains(out, "purged 1 records") || !strings.Contains(out, "warning: ") || !strings.Contains(out, "write-ahead log") {
		t.Errorf("stdout: %s", out)
	}
}
