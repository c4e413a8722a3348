package sqlite

import (
	"database/sql"
	"errors"
	"testing"

	"github.com/lyumen/lyumen"
)

// TestRefused: SQLite's refusals of a value are ErrRejected; its other
// failures, which may pass, are not.
func TestRefused(t *testing.T) {
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE t (x INTEGER NOT NULL) STRICT`); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		stmt     string
		rejected bool
	}{
		{`INSERT INTO t (x) VALUES (NULL)`, true},   // a constraint
		{`INSERT INTO t (x) VALUES ('text')`, true}, // a type, under STRICT
		{`INSERT INTO nowhere (x) VALUES (1)`, false},
	} {
		_, err := db.Exec(tc.stmt)
		if err == nil {
			t.Fatalf("%s: no error", tc.stmt)
		}
		if got := errors.Is(refused(err), lyumen.ErrRejected); got != tc.rejected {
			t.Errorf("%s: %v: rejected = %v, want %v", tc.stmt, err, got, tc.rejected)
		}
	}
}
