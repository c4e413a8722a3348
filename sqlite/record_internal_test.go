package sqlite

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/pack"
)

// TestInserter_EverySize inserts every row count up to past two full
// statements, so that each power-of-two statement runs in each split.
func TestInserter_EverySize(t *testing.T) {
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "lyumen.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	t.Run("blobs", func(t *testing.T) {
		total := 0
		for n := 1; n <= 2*blobsPerInsert+3; n++ {
			tx, err := db.db.BeginTx(t.Context(), nil)
			if err != nil {
				t.Fatal(err)
			}
			in := &inserter{tx: tx, inserts: db.inserts}
			for i := range n {
				var h pack.Hash // distinct, which is all the table needs
				copy(h[:], fmt.Sprintf("%d/%d", n, i))
				if err := in.blob(t.Context(), pack.Blob{Hash: h, Data: []byte("data")}); err != nil {
					t.Fatalf("batch of %d: %v", n, err)
				}
			}
			if err := in.flush(t.Context()); err != nil {
				t.Fatalf("batch of %d: %v", n, err)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			total += n
			var got int
			if err := db.db.QueryRowContext(t.Context(), `SELECT count(*) FROM blobs`).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != total {
				t.Fatalf("after a batch of %d blobs: %d stored, want %d", n, got, total)
			}
		}
	})
	t.Run("records", func(t *testing.T) {
		at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
		total := 0
		for n := 1; n <= 2*recordsPerInsert+3; n++ {
			recs := make([]*lyumen.Record, n)
			for i := range recs {
				recs[i] = &lyumen.Record{
					ID:         fmt.Sprintf("01970000-0000-7000-8000-%012x", total+i),
					ReceivedAt: at.Add(time.Duration(total+i) * time.Millisecond),
					Surface:    lyumen.SurfaceOpenAIChat,
					Model:      "m",
					Status:     200,
				}
			}
			if err := db.WriteRecords(t.Context(), recs); err != nil {
				t.Fatalf("batch of %d: %v", n, err)
			}
			total += n
			if got, err := db.Count(t.Context()); err != nil || got != int64(total) {
				t.Fatalf("after a batch of %d records: %d stored (%v), want %d", n, got, err, total)
			}
			last, err := db.Record(t.Context(), recs[n-1].ID)
			if err != nil || !last.ReceivedAt.Equal(recs[n-1].ReceivedAt) {
				t.Fatalf("batch of %d: the last record reads back as %+v, %v", n, last, err)
			}
		}
	})
}
