package postgres

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/lyumen/lyumen"
)

// TestRefused: PostgreSQL's refusals of a value (data exceptions,
// constraints, limits) are ErrRejected; outages and other failures, which
// a retry may get past, are not.
func TestRefused(t *testing.T) {
	for _, tc := range []struct {
		code     string
		rejected bool
	}{
		{"22021", true},  // invalid byte sequence for encoding
		{"22P05", true},  // untranslatable character (a NUL in text)
		{"23502", true},  // not null violation
		{"54000", true},  // program limit exceeded (a row too big)
		{"40001", false}, // serialization failure
		{"57P01", false}, // admin shutdown
		{"08006", false}, // connection failure
		{"", false},
	} {
		err := fmt.Errorf("copy records: %w", &pgconn.PgError{Code: tc.code})
		if got := errors.Is(refused(err), lyumen.ErrRejected); got != tc.rejected {
			t.Errorf("SQLSTATE %q: rejected = %v, want %v", tc.code, got, tc.rejected)
		}
	}
	if errors.Is(refused(errors.New("dial tcp: connection refused")), lyumen.ErrRejected) {
		t.Error("a network error is rejected")
	}
}
