package sqlite

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lyumen/lyumen"
)

// TestWriteRecords_PurgeAfterCut: a batch is cut skipping a blob the writer
// remembers storing; before its transaction, another process purges that
// blob and another writer of this process notices and moves the memory to
// the new epoch. The batch must still be cut again, or its record would
// refer to a blob that is gone.
func TestWriteRecords_PurgeAfterCut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lyumen.db")
	open := func() *DB {
		db, err := Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	w, other := open(), open()
	rec := func(id, answer string) *lyumen.Record {
		return &lyumen.Record{ID: id, ReceivedAt: time.Now(), Model: "m",
			Response: &lyumen.Response{Choices: []lyumen.Choice{{Message: lyumen.Message{Role: "assistant", Content: answer}}}}}
	}
	const shared = "an answer given twice, long enough to be a blob"
	a := rec("01970000-0000-7000-8000-000000000001", shared)
	if err := w.WriteRecords(t.Context(), []*lyumen.Record{a}); err != nil {
		t.Fatal(err)
	}
	w.afterCut = func() {
		w.afterCut = nil
		if _, err := other.Purge(t.Context(), lyumen.Purge{IDs: []string{a.ID}}); err != nil {
			t.Fatal(err)
		}
		b := rec("01970000-0000-7000-8000-000000000002", "another writer's answer, long enough to be a blob")
		if err := w.WriteRecords(t.Context(), []*lyumen.Record{b}); err != nil { // finds the new epoch
			t.Fatal(err)
		}
	}
	c := rec("01970000-0000-7000-8000-000000000003", shared)
	if err := w.WriteRecords(t.Context(), []*lyumen.Record{c}); err != nil {
		t.Fatal(err)
	}
	got, err := other.Record(t.Context(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Response.Choices[0].Message.Content != shared {
		t.Errorf("answer = %q", got.Response.Choices[0].Message.Content)
	}
}

// TestMigrate_PurgedBeforeNotFuture: a store that took a purge before a time
// to come (before purge refused one) refused every record received until
// then; migration 3 brings its time back to now, and records are stored
// again.
func TestMigrate_PurgedBeforeNotFuture(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lyumen.db")
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	future := time.Now().AddDate(30, 0, 0).UnixMicro()
	if _, err := db.db.ExecContext(t.Context(), `UPDATE store_meta SET purged_before = ?`, future); err != nil {
		t.Fatal(err)
	}
	if _, err := db.db.ExecContext(t.Context(), `DELETE FROM schema_migrations WHERE version >= 3`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = Open(t.Context(), path) // migrates
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var before int64
	if err := db.db.QueryRowContext(t.Context(), `SELECT purged_before FROM store_meta`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	if before > time.Now().UnixMicro() || before < time.Now().Add(-time.Minute).UnixMicro() {
		t.Errorf("purged_before %v, want now", time.UnixMicro(before))
	}
	rec := &lyumen.Record{ID: "01970000-0000-7000-8000-0000000000aa", ReceivedAt: time.Now(), Model: "m"}
	if err := db.WriteRecords(t.Context(), []*lyumen.Record{rec}); err != nil {
		t.Fatal(err)
	}
	if n, err := db.Count(t.Context()); err != nil || n != 1 {
		t.Errorf("Count = %d, %v; want the record received after the migration", n, err)
	}
}

// TestOpenExisting: the commands that read or delete open a store that is
// there with this build's schema, and change nothing: a missing file is not
// created, an older schema is not migrated.
func TestOpenExisting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lyumen.db")
	if _, err := OpenExisting(t.Context(), path); err == nil || !strings.Contains(err.Error(), "no store at") {
		t.Fatalf("a missing file: %v; want no store", err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Fatal("OpenExisting created the file")
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenExisting(t.Context(), path); err == nil || !strings.Contains(err.Error(), "no store at") {
		t.Fatalf("an empty file: %v; want no store", err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != 0 {
		t.Fatalf("OpenExisting wrote into the empty file: %v, %v", fi, err)
	}
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.db.ExecContext(t.Context(), `DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)`); err != nil {
		t.Fatal(err)
	}
	v, _ := db.Version(t.Context())
	db.Close()
	if _, err := OpenExisting(t.Context(), path); err == nil || !strings.Contains(err.Error(), "run this build's lyumen migrate") {
		t.Errorf("an older schema: %v; want it refused", err)
	}
	db, err = Open(t.Context(), path) // migrates
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = OpenExisting(t.Context(), path)
	if err != nil {
		t.Fatalf("this build's schema: %v", err)
	}
	if got, _ := db.Version(t.Context()); got != v+1 {
		t.Errorf("version %d, want %d", got, v+1)
	}
	if _, err := db.db.ExecContext(t.Context(), `INSERT INTO schema_migrations (version, applied_at) VALUES (99, '')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := OpenExisting(t.Context(), path); err == nil || !strings.Contains(err.Error(), "use a newer lyumen") {
		t.Errorf("a newer schema: %v; want it refused as newer", err)
	}
}
