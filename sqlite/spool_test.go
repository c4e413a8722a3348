package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/spool"
)

// TestWriteRecords_RejectedSetAsideBySpool: a record the store refuses for
// what it holds is reported as lyumen.ErrRejected, so the spool in front
// (as serve wires it) sets that one record aside and ships the rest, where
// it would otherwise retry the batch, and everything behind it, forever.
func TestWriteRecords_RejectedSetAsideBySpool(t *testing.T) {
	dir := t.TempDir()
	db := mustOpen(t, filepath.Join(dir, "lyumen.db"))
	bad := benchRecord()
	bad.ID = "not-a-uuid"
	if err := db.WriteRecords(t.Context(), []*lyumen.Record{bad}); !errors.Is(err, lyumen.ErrRejected) {
		t.Fatalf("WriteRecords(bad id) = %v, want lyumen.ErrRejected", err)
	}

	sp, err := spool.Open(filepath.Join(dir, "spool"), db, spool.Options{Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	var good []string
	for i := range 10 {
		r := benchRecord()
		r.ID = fmt.Sprintf("01970000-0000-7000-8000-%012x", i)
		if i == 4 {
			r = bad
		} else {
			good = append(good, r.ID)
		}
		if err := sp.Record(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // Run with an ended context drains the spool and returns
	if err := sp.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := sp.Pending(); n != 0 {
		t.Errorf("%d records still pending", n)
	}
	for _, id := range good {
		if _, err := db.Record(t.Context(), id); err != nil {
			t.Errorf("record %s: %v", id, err)
		}
	}
	if files, err := os.ReadDir(filepath.Join(dir, "spool", "rejected")); err != nil || len(files) != 1 {
		t.Errorf("spool/rejected holds %d files (%v), want the one record", len(files), err)
	}
}
