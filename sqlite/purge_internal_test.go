package sqlite

import (
	"path/filepath"
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
