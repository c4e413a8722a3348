package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lyumen/lyumen/dataset/datasettest"
	"github.com/lyumen/lyumen/sqlite"
)

// TestExport_EndToEnd writes planted records into a SQLite store, runs
// "lyumen export" and "lyumen stats" on it, and checks the files: shards,
// card, stats, no planted value anywhere.
func TestExport_EndToEnd(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "lyumen.db")
	db, err := sqlite.Open(t.Context(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	recs := datasettest.CanaryRecords()
	for i := range 30 {
		id := "00000000-0000-7000-8000-0000000001" + string(rune('0'+i/10)) + string(rune('0'+i%10))
		recs = append(recs, datasettest.Rec(id, 10+i, "An answer long enough to keep.", "A question number "+id+" about Go channels?"))
	}
	if err := db.WriteRecords(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	db.Close()
	getenv := func(string) string { return "" }
	store := "sqlite://" + dbPath

	for _, format := range []string{"jsonl", "sharegpt", "parquet"} {
		t.Run(format, func(t *testing.T) {
			out := filepath.Join(dir, "out-"+format)
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), []string{"export", "--store", store, "--format", format, "--out", out, "--progress", "lines",
				"--test-fraction", "0.2", "--memory-limit-mb", "0"}, getenv, &stdout, &stderr)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr.String())
			}
			if !strings.Contains(stdout.String(), "31 conversations") {
				t.Errorf("stdout: %s", stdout.String())
			}
			if !strings.Contains(stderr.String(), "export: ") {
				t.Errorf("no progress lines on stderr: %q", stderr.String())
			}
			files, _ := filepath.Glob(filepath.Join(out, "data", "*-of-*"))
			if len(files) != 2 {
				t.Errorf("shards %v, want train and test", files)
			}
			for _, name := range []string{"README.md", "stats.json"} {
				if _, err := os.Stat(filepath.Join(out, name)); err != nil {
					t.Error(err)
				}
			}
			if format != "parquet" { // parquet is compressed: its canary test reads it back in dataset/parquet
				if leaked := datasettest.Leaks(t, out, datasettest.Canaries); len(leaked) > 0 {
					t.Errorf("leaked %q", leaked)
				}
			}
		})
	}
	t.Run("refuses a non-empty directory", func(t *testing.T) {
		err := run(t.Context(), []string{"export", "--store", store, "--out", filepath.Join(dir, "out-jsonl")}, getenv, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "not empty") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("stats as JSON, small cells suppressed", func(t *testing.T) {
		var stdout bytes.Buffer
		if err := run(t.Context(), []string{"stats", "--store", store, "--format", "json", "--k", "5", "--progress", "none"}, getenv, &stdout, io.Discard); err != nil {
			t.Fatal(err)
		}
		var a struct {
			Records int64
			Tables  []struct {
				Dimension string
				Rows      []struct {
					Value string
					Count int64
				}
			}
		}
		if err := json.Unmarshal(stdout.Bytes(), &a); err != nil {
			t.Fatalf("%v\n%s", err, stdout.String())
		}
		if a.Records != 33 {
			t.Errorf("records %d, want 33", a.Records)
		}
		for _, tb := range a.Tables {
			for _, r := range tb.Rows {
				if r.Count >= 0 && r.Count < 5 {
					t.Errorf("%s %q has %d < k", tb.Dimension, r.Value, r.Count)
				}
			}
		}
	})
}
