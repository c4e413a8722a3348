package postgres_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/lyumen/lyumen/postgres"
	"github.com/lyumen/lyumen/storetest"
)

// testURL returns the test server's URL, or skips: these tests need a real
// PostgreSQL.
func testURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv("LYUMEN_TEST_POSTGRES")
	if u == "" {
		tb.Skip("LYUMEN_TEST_POSTGRES not set (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	return u
}

// freshSchema creates an empty schema and returns a URL that uses it, so
// tests do not see each other's tables. The schema is dropped afterwards.
func freshSchema(tb testing.TB) string {
	tb.Helper()
	base := testURL(tb)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	schema := "lyumen_test_" + strings.ToLower(rand.Text()[:10])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		c.Exec(context.Background(), "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func mustOpen(tb testing.TB, u string) *postgres.DB {
	tb.Helper()
	db, err := postgres.Open(context.Background(), u)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func TestDB(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return mustOpen(t, freshSchema(t)) })
}

func TestOpen_MigrationsOnce(t *testing.T) {
	u := freshSchema(t)
	// Two gateways starting together: the advisory lock serializes them.
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			db, err := postgres.Open(t.Context(), u)
			if err == nil {
				db.Close()
			}
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	db := mustOpen(t, u)
	v, err := db.Version(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if v != postgres.Migrations() {
		t.Errorf("version %d, want %d", v, postgres.Migrations())
	}
}

func TestOpen_BadURL(t *testing.T) {
	if _, err := postgres.Open(t.Context(), "postgres://nobody@127.0.0.1:1/x?connect_timeout=1"); err == nil {
		t.Error("no error for an unreachable server")
	}
	_ = fmt.Sprint()
}
