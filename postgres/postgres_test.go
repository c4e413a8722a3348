package postgres_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/lyumen/lyumen"
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

// TestDB_NewLabelsTogether has gateways (one handle each, so each has its
// own label cache) store batches that bring the same new labels at once,
// round after round: inserting them in map order, two gateways could each
// lock one label the other needed next, and PostgreSQL ended one with a
// deadlock.
func TestDB_NewLabelsTogether(t *testing.T) {
	const gateways, rounds, perBatch = 4, 20, 12
	u := freshSchema(t)
	dbs := make([]*postgres.DB, gateways)
	for i := range dbs {
		dbs[i] = mustOpen(t, u)
	}
	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	n := 0
	for r := range rounds {
		batches := make([][]*lyumen.Record, gateways)
		for g := range batches {
			for k := range perBatch {
				n++
				batches[g] = append(batches[g], &lyumen.Record{
					ID: fmt.Sprintf("01970000-0000-7000-8000-%012x", n), ReceivedAt: at,
					Model: fmt.Sprintf("model-%d-%d", r, k), UserAgent: fmt.Sprintf("agent-%d-%d", r, k),
				})
			}
		}
		var wg sync.WaitGroup
		for g, db := range dbs {
			wg.Go(func() {
				if err := db.WriteRecords(t.Context(), batches[g]); err != nil {
					t.Errorf("round %d, gateway %d: %v", r, g, err)
				}
			})
		}
		wg.Wait()
	}
	if got, err := dbs[0].Count(t.Context()); err != nil || got != int64(n) {
		t.Errorf("Count = %d, %v; want %d", got, err, n)
	}
}

func TestDB_Purge(t *testing.T) {
	urls := map[storetest.PurgeStore]string{} // a second handle opens the same schema
	storetest.RunPurge(t,
		func(t *testing.T) storetest.PurgeStore {
			u := freshSchema(t)
			db := mustOpen(t, u)
			urls[db] = u
			return db
		},
		func(t *testing.T, s storetest.PurgeStore) storetest.PurgeStore { return mustOpen(t, urls[s]) },
		func(s storetest.PurgeStore, text string) bool { return postgres.Remembers(s.(*postgres.DB), text) })
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

// TestOpen_MigratesRecords opens a store at migration 1, the layout with
// text columns and no labels, and checks that migration 2 moves its
// records into record_rows unchanged.
func TestOpen_MigratesRecords(t *testing.T) {
	recs := []*lyumen.Record{
		{
			ID: "01970000-0000-7000-8000-000000000001", ReceivedAt: time.Date(2025, 6, 30, 23, 59, 59, 999999000, time.UTC),
			Surface: lyumen.SurfaceOpenAIChat, Model: "gpt-4o", ServedModel: "gpt-4o-2024-08-06", Provider: "openai",
			Stream: true, Status: 200, Request: []byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"` +
				strings.Repeat("Long enough to be stored apart. ", 4) + `"}]}`),
			Response:  &lyumen.Response{ID: "r1", Choices: []lyumen.Choice{{Message: lyumen.Message{Role: "assistant", Content: strings.Repeat("An answer. ", 8)}}}},
			UserAgent: strings.Repeat("a user agent longer than a B-tree allows ", 100), Country: "DE", Completeness: lyumen.Complete,
			Usage: lyumen.Usage{PromptTokens: 1, CompletionTokens: 2, TotalTokens: 3}, Duration: time.Second, TTFT: time.Millisecond,
		},
		{
			ID: "01970000-0000-7000-8000-000000000002", ReceivedAt: time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC),
			Surface: lyumen.SurfaceOpenAIChat, Model: "gpt-4o", Status: 502, Error: "upstream refused",
			Completeness: lyumen.UpstreamRefused, Attempts: []lyumen.Attempt{{Provider: "openai", Model: "gpt-4o", Status: 502}},
		},
	}
	ctx := t.Context()
	// The rows as migration 1 stored them: the records view has that
	// table's columns, in its order.
	srcURL := freshSchema(t)
	src := mustOpen(t, srcURL)
	if err := src.WriteRecords(ctx, recs); err != nil {
		t.Fatal(err)
	}
	u := freshSchema(t)
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	v1, err := os.ReadFile("migration/0001_records.sql")
	if err != nil {
		t.Fatal(err)
	}
	srcSchema := pgx.Identifier{schemaOf(t, srcURL)}.Sanitize()
	for _, q := range []string{
		`CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
		string(v1),
		`INSERT INTO schema_migrations (version) VALUES (1)`,
		`CREATE TABLE records_2025_06 PARTITION OF records FOR VALUES FROM ('2025-06-01') TO ('2025-07-01')`,
		`CREATE TABLE records_2025_07 PARTITION OF records FOR VALUES FROM ('2025-07-01') TO ('2025-08-01')`,
		`INSERT INTO records SELECT * FROM ` + srcSchema + `.records`,
		`INSERT INTO blobs SELECT * FROM ` + srcSchema + `.blobs`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}

	db := mustOpen(t, u)
	if v, err := db.Version(ctx); err != nil || v != postgres.Migrations() {
		t.Fatalf("version %d (%v), want %d", v, err, postgres.Migrations())
	}
	if n, err := db.Count(ctx); err != nil || n != int64(len(recs)) {
		t.Fatalf("count %d (%v), want %d", n, err, len(recs))
	}
	for _, want := range recs {
		got, err := db.Record(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("record %s after the migration (-want +got):\n%s", want.ID, diff)
		}
	}
	// The migrated store takes new records, into the partitions it made.
	more := *recs[1]
	more.ID = "01970000-0000-7000-8000-000000000003"
	if err := db.WriteRecords(ctx, []*lyumen.Record{&more}); err != nil {
		t.Fatal(err)
	}
}

// schemaOf returns the schema of a URL from freshSchema.
func schemaOf(tb testing.TB, u string) string {
	tb.Helper()
	p, err := url.Parse(u)
	if err != nil {
		tb.Fatal(err)
	}
	return p.Query().Get("search_path")
}

// A commit must be durable, for the spool forgets what the store
// committed: synchronous_commit off, here from the URL as a server's or a
// role's default would set it, is turned on; a stronger setting is kept.
func TestOpen_SynchronousCommit(t *testing.T) {
	base := freshSchema(t)
	for _, tc := range []struct{ set, want string }{
		{"off", "on"},
		{"local", "local"},
		{"remote_apply", "remote_apply"},
	} {
		t.Run(tc.set, func(t *testing.T) {
			u, err := url.Parse(base)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			q.Set("synchronous_commit", tc.set)
			u.RawQuery = q.Encode()
			db := mustOpen(t, u.String())
			got, err := postgres.Setting(t.Context(), db, "synchronous_commit")
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("synchronous_commit = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestOpen_BadURL(t *testing.T) {
	if _, err := postgres.Open(t.Context(), "postgres://nobody@127.0.0.1:1/x?connect_timeout=1"); err == nil {
		t.Error("no error for an unreachable server")
	}
	_ = fmt.Sprint()
}

// TestDB_ReadDuringPurge: a purge that commits between the moment a read
// takes a record's row and the moment it takes the row's blobs leaves the
// read whole: the two are one snapshot.
func TestDB_ReadDuringPurge(t *testing.T) {
	u := freshSchema(t)
	db, other := mustOpen(t, u), mustOpen(t, u)
	answer := func(r *lyumen.Record) string { return r.Response.Choices[0].Message.Content }
	// byScan reads one record by scanning the whole store with scan.
	byScan := func(scan func(context.Context, time.Time, time.Time, func(*lyumen.Record) error) error) func(string) (*lyumen.Record, error) {
		return func(id string) (got *lyumen.Record, err error) {
			err = scan(t.Context(), time.Time{}, time.Time{}, func(r *lyumen.Record) error {
				if r.ID == id {
					got = r
				}
				return nil
			})
			return got, err
		}
	}
	reads := map[string]func(id string) (*lyumen.Record, error){
		"Record":                    func(id string) (*lyumen.Record, error) { return db.Record(t.Context(), id) },
		"Scan":                      byScan(db.Scan),
		"ScanConversationsBackward": byScan(db.ScanConversationsBackward),
	}
	n := 0
	for name, read := range reads {
		t.Run(name, func(t *testing.T) {
			n++
			rec := &lyumen.Record{ID: fmt.Sprintf("01970000-0000-7000-8000-%012d", n), ReceivedAt: time.Now().UTC().Truncate(time.Microsecond),
				Model: "m", Response: &lyumen.Response{Choices: []lyumen.Choice{{Message: lyumen.Message{Role: "assistant",
					Content: fmt.Sprintf("answer %d, only this record has it, long enough to be a blob", n)}}}}}
			if err := db.WriteRecords(t.Context(), []*lyumen.Record{rec}); err != nil {
				t.Fatal(err)
			}
			purged := false
			postgres.SetAfterRows(db, func() {
				postgres.SetAfterRows(db, nil)
				p, err := other.Purge(t.Context(), lyumen.Purge{IDs: []string{rec.ID}})
				if err != nil || p.Records != 1 || p.Blobs == 0 {
					t.Errorf("purge: %+v, %v; want the record and its blob gone", p, err)
				}
				purged = true
			})
			got, err := read(rec.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !purged {
				t.Fatal("the purge did not run between the reads")
			}
			if got == nil || answer(got) != answer(rec) {
				t.Errorf("read %+v, want the record as it was before the purge", got)
			}
			if _, err := db.Record(t.Context(), rec.ID); lyumen.KindOf(err) != lyumen.KindNotFound {
				t.Errorf("after the purge: Record = %v, want not found", err)
			}
		})
	}
}

// TestDB_PurgeVacuumFails: when the VACUUM after a purge cannot run (here
// it waits for a lock until the caller gives up), the purge still stands and
// says what it could not do.
func TestDB_PurgeVacuumFails(t *testing.T) {
	u := freshSchema(t)
	db := mustOpen(t, u)
	rec := &lyumen.Record{ID: "01970000-0000-7000-8000-000000000001", ReceivedAt: time.Now().UTC(), Model: "m",
		Response: &lyumen.Response{Choices: []lyumen.Choice{{Message: lyumen.Message{Role: "assistant", Content: "an answer long enough to be a blob of its own"}}}}}
	if err := db.WriteRecords(t.Context(), []*lyumen.Record{rec}); err != nil {
		t.Fatal(err)
	}
	// SHARE UPDATE EXCLUSIVE lets the purge delete rows and holds VACUUM back.
	holder, err := pgx.Connect(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(context.Background())
	tx, err := holder.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(t.Context(), `LOCK TABLE blobs IN SHARE UPDATE EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	watcher, err := pgx.Connect(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Close(context.Background())
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	watched := make(chan error, 1)
	go func() { // give up once the VACUUM waits for the lock
		defer cancel()
		for ctx.Err() == nil {
			var waiting bool
			err := watcher.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_locks WHERE relation = 'blobs'::regclass AND NOT granted
				AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))`).Scan(&waiting)
			if err != nil || waiting {
				watched <- err
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		watched <- errors.New("the VACUUM never waited for the lock")
	}()
	got, err := db.Purge(ctx, lyumen.Purge{IDs: []string{rec.ID}})
	if werr := <-watched; werr != nil {
		t.Fatalf("watching the locks: %v", werr)
	}
	if err != nil {
		t.Fatal(err)
	}
	if got.Records != 1 || got.Blobs != 1 || !strings.Contains(got.Warning, "VACUUM failed") {
		t.Errorf("Purge = %+v, want the record and its blob deleted, and a warning about VACUUM", got)
	}
	if _, err := db.Record(t.Context(), rec.ID); lyumen.KindOf(err) != lyumen.KindNotFound {
		t.Errorf("after the purge: Record = %v, want not found", err)
	}
}

// TestWriteRecords_TextPostgreSQLRefuses: a NUL or bytes that are not
// UTF-8 in a record's text (an upstream's error message or model name may
// hold "\u0000") are stored replaced, not refused: PostgreSQL refuses the
// value, and with it the whole batch at every retry, which would stop the
// spool shipping anything behind it.
// TestWriteRecords_TokensOutOfRange: a token count the integer column
// cannot hold is the record's fault (lyumen.ErrRejected), so the spool sets
// that record aside; pgx refuses it by cancelling the COPY, which would
// read as an outage and be retried forever.
func TestWriteRecords_TokensOutOfRange(t *testing.T) {
	db := mustOpen(t, freshSchema(t))
	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	bad := &lyumen.Record{ID: "01970000-0000-7000-8000-000000000001", ReceivedAt: at, Model: "m", Usage: lyumen.Usage{CompletionTokens: 1 << 31}}
	good := &lyumen.Record{ID: "01970000-0000-7000-8000-000000000002", ReceivedAt: at, Model: "m", Usage: lyumen.Usage{CompletionTokens: 1<<31 - 1}}
	if err := db.WriteRecords(t.Context(), []*lyumen.Record{good, bad}); !errors.Is(err, lyumen.ErrRejected) {
		t.Errorf("WriteRecords(2^31 tokens) = %v, want lyumen.ErrRejected", err)
	}
	if err := db.WriteRecords(t.Context(), []*lyumen.Record{good}); err != nil {
		t.Errorf("WriteRecords(2^31-1 tokens) = %v", err)
	}
}

func TestWriteRecords_TextPostgreSQLRefuses(t *testing.T) {
	db := mustOpen(t, freshSchema(t))
	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for i, tc := range []struct {
		name string
		set  func(*lyumen.Record)
		got  func(*lyumen.Record) string
		want string
	}{
		{"user agent cut inside a character", func(r *lyumen.Record) { r.UserAgent = "ok \xc3" }, func(r *lyumen.Record) string { return r.UserAgent }, "ok \uFFFD"},
		{"NUL in the error", func(r *lyumen.Record) { r.Error = "upstream said \x00 here" }, func(r *lyumen.Record) string { return r.Error }, "upstream said \uFFFD here"},
		{"NUL in the served model", func(r *lyumen.Record) { r.ServedModel = "m\x00" }, func(r *lyumen.Record) string { return r.ServedModel }, "m\uFFFD"},
		{"not UTF-8 in the provider", func(r *lyumen.Record) { r.Provider = "p\xff\xfe" }, func(r *lyumen.Record) string { return r.Provider }, "p\uFFFD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &lyumen.Record{ID: fmt.Sprintf("01970000-0000-7000-8000-%012x", i+1), ReceivedAt: at, Model: "m"}
			tc.set(r)
			if err := db.WriteRecords(t.Context(), []*lyumen.Record{r}); err != nil {
				t.Fatalf("WriteRecords: %v", err)
			}
			back, err := db.Record(t.Context(), r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.got(back); got != tc.want {
				t.Errorf("stored %q, want %q", got, tc.want)
			}
		})
	}
}

// TestDB_PurgeBlanksUserAgents: a user agent only purged records had is
// gone from the labels table; one a remaining record still has, in any
// column, stays. Gateways that cached the blanked label, this one and
// another, store the user agent right when it comes again.
func TestDB_PurgeBlanksUserAgents(t *testing.T) {
	u := freshSchema(t)
	db, other := mustOpen(t, u), mustOpen(t, u)
	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	rec := func(n int, ua, model string) *lyumen.Record {
		return &lyumen.Record{ID: fmt.Sprintf("01970000-0000-7000-8000-%012x", n), ReceivedAt: at.Add(time.Duration(n) * time.Second), Model: model, UserAgent: ua}
	}
	const own, shared, asModel = "UA-only-the-purged-qz7x", "curl/8.1", "also-a-model"
	write := func(db *postgres.DB, recs ...*lyumen.Record) {
		t.Helper()
		if err := db.WriteRecords(t.Context(), recs); err != nil {
			t.Fatal(err)
		}
	}
	write(db, rec(1, own, "m"), rec(2, shared, "m"), rec(3, asModel, "m"), rec(4, shared, "m"), rec(5, "x", asModel))
	write(other, rec(6, own, "m")) // the other gateway caches the label too
	if _, err := db.Purge(t.Context(), lyumen.Purge{IDs: []string{rec(1, "", "").ID, rec(3, "", "").ID, rec(6, "", "").ID}}); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for v, want := range map[string]int{own: 0, shared: 1, asModel: 1} {
		var n int
		if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM labels WHERE value = $1`, v).Scan(&n); err != nil || n != want {
			t.Errorf("labels holding %q: %d, %v; want %d", v, n, err, want)
		}
	}
	write(db, rec(7, own, "m"))
	write(other, rec(8, own, "m"))
	for _, n := range []int{7, 8} {
		r, err := db.Record(t.Context(), rec(n, "", "").ID)
		if err != nil || r.UserAgent != own {
			t.Errorf("record %d after the purge: user agent %q, %v; want %q", n, r.UserAgent, err, own)
		}
	}
}

// TestDB_PurgeBlanksUserAgents_ByTime: a purge by time blanks the user
// agents only the records it deleted had, as a purge by id does, and keeps
// those of the records received from that time on.
func TestDB_PurgeBlanksUserAgents_ByTime(t *testing.T) {
	u := freshSchema(t)
	db := mustOpen(t, u)
	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	rec := func(n int, ua string) *lyumen.Record {
		return &lyumen.Record{ID: fmt.Sprintf("01970000-0000-7000-8000-%012x", n), ReceivedAt: at.Add(time.Duration(n) * time.Second), Model: "m", UserAgent: ua}
	}
	const old, kept, both = "UA-only-the-old-qz7x", "UA-only-the-kept-41aa", "curl/8.1"
	if err := db.WriteRecords(t.Context(), []*lyumen.Record{rec(1, old), rec(2, both), rec(3, old), rec(10, kept), rec(11, both)}); err != nil {
		t.Fatal(err)
	}
	got, err := db.Purge(t.Context(), lyumen.Purge{Before: at.Add(5 * time.Second)})
	if err != nil || got.Records != 3 {
		t.Fatalf("Purge = %+v, %v; want the 3 records before the time", got, err)
	}
	conn, err := pgx.Connect(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, tc := range []struct {
		ua   string
		want int
	}{{old, 0}, {kept, 1}, {both, 1}} {
		var n int
		if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM labels WHERE value = $1`, tc.ua).Scan(&n); err != nil || n != tc.want {
			t.Errorf("labels holding %q: %d, %v; want %d", tc.ua, n, err, tc.want)
		}
	}
}

// TestOpenExisting: the commands that read or delete open a store without
// changing its schema, so a role that may only read can run them, and a
// newer build's report does not migrate a schema under older gateways; a
// schema that is not this build's, or none, is an error that says what to
// run.
func TestOpenExisting(t *testing.T) {
	ctx := t.Context()
	u := freshSchema(t)
	if _, err := postgres.OpenExisting(ctx, u); err == nil || !strings.Contains(err.Error(), "no store") {
		t.Fatalf("an empty schema: %v; want no store", err)
	}
	db := mustOpen(t, u)
	if err := db.WriteRecords(ctx, []*lyumen.Record{{ID: "01970000-0000-7000-8000-0000000000ab", ReceivedAt: time.Now(), Model: "m"}}); err != nil {
		t.Fatal(err)
	}

	conn, err := pgx.Connect(ctx, testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	schema := pgx.Identifier{schemaOf(t, u)}.Sanitize()
	role := "lyumen_ro_" + strings.ToLower(rand.Text()[:10])
	// Read-only as such roles are made: every session read-only, which a
	// replica is too.
	for _, q := range []string{"CREATE ROLE " + role + " LOGIN", "GRANT USAGE ON SCHEMA " + schema + " TO " + role,
		"GRANT SELECT ON ALL TABLES IN SCHEMA " + schema + " TO " + role, "ALTER ROLE " + role + " SET default_transaction_read_only = on"} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), testURL(t))
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		c.Exec(context.Background(), "DROP OWNED BY "+role)
		c.Exec(context.Background(), "DROP ROLE "+role)
	})
	ru, _ := url.Parse(u)
	ru.User = url.User(role)
	ro, err := postgres.OpenExisting(ctx, ru.String())
	if err != nil {
		t.Fatalf("a role that may only read: %v", err)
	}
	n, err := ro.Count(ctx)
	ro.Close()
	if err != nil || n != 1 {
		t.Errorf("Count as the reader = %d, %v", n, err)
	}
	if db, err := postgres.Open(ctx, ru.String()); err == nil { // what stats did before: migrate first
		db.Close()
		t.Error("the reader could migrate; the test's role is not read-only")
	}

	if _, err := conn.Exec(ctx, "DELETE FROM "+schema+".schema_migrations WHERE version = (SELECT max(version) FROM "+schema+".schema_migrations)"); err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.OpenExisting(ctx, u); err == nil || !strings.Contains(err.Error(), "run this build's lyumen migrate") {
		t.Errorf("an older schema: %v; want it refused", err)
	}
	if _, err := conn.Exec(ctx, "INSERT INTO "+schema+".schema_migrations (version) VALUES (99)"); err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.OpenExisting(ctx, u); err == nil || !strings.Contains(err.Error(), "use a newer lyumen") {
		t.Errorf("a newer schema: %v; want it refused as newer", err)
	}
}

// TestOpen_IdleInTransactionTimeout: a writer's session ends when it sits
// in a transaction for a minute (its connection went silent), unless the
// operator set a timeout of their own.
func TestOpen_IdleInTransactionTimeout(t *testing.T) {
	base := freshSchema(t)
	for _, tc := range []struct{ set, want string }{
		{"", "1min"},
		{"5s", "5s"},
	} {
		t.Run("set "+tc.set, func(t *testing.T) {
			u, err := url.Parse(base)
			if err != nil {
				t.Fatal(err)
			}
			if tc.set != "" {
				q := u.Query()
				q.Set("idle_in_transaction_session_timeout", tc.set)
				u.RawQuery = q.Encode()
			}
			db := mustOpen(t, u.String())
			got, err := postgres.Setting(t.Context(), db, "idle_in_transaction_session_timeout")
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("idle_in_transaction_session_timeout = %s, want %s", got, tc.want)
			}
			if got, err := postgres.Setting(t.Context(), db, "tcp_keepalives_idle"); err != nil || got != "60" {
				t.Errorf("tcp_keepalives_idle = %s (%v), want 60", got, err)
			}
		})
	}
}

// TestWriteRecords_Partitions: the next month's partition is made ahead of
// its first record; and a month's partition made while a reader holds
// record_rows (an export, pg_dump) waits only so long for its lock, where
// it held every other gateway's writes behind it for as long as the
// reader ran.
func TestWriteRecords_Partitions(t *testing.T) {
	u := freshSchema(t)
	db := mustOpen(t, u)
	now := time.Now().UTC().Truncate(time.Microsecond)
	rec := func(n int, at time.Time) []*lyumen.Record {
		return []*lyumen.Record{{ID: fmt.Sprintf("01970000-0000-7000-8000-%012d", n), ReceivedAt: at, Model: "m"}}
	}
	if err := db.WriteRecords(t.Context(), rec(1, now)); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	next := time.Date(now.Year(), now.Month()+1, 1, 0, 0, 0, 0, time.UTC)
	var made bool
	if err := conn.QueryRow(t.Context(), `SELECT EXISTS (SELECT FROM pg_inherits
		WHERE inhrelid = to_regclass($1) AND inhparent = 'record_rows'::regclass)`, fmt.Sprintf("records_%04d_%02d", next.Year(), next.Month())).Scan(&made); err != nil {
		t.Fatal(err)
	}
	if !made {
		t.Errorf("no partition for %s after a record of %s", next.Format("2006-01"), now.Format("2006-01"))
	}

	reader, err := conn.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reader.Exec(t.Context(), `SELECT count(*) FROM record_rows`); err != nil {
		t.Fatal(err)
	}
	postgres.SetPartitionWait(db, 200*time.Millisecond)
	later := next.AddDate(0, 3, 0)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := db.WriteRecords(ctx, rec(2, later)); err == nil || ctx.Err() != nil {
		t.Errorf("WriteRecords with a new month's partition behind a reader = %v (context: %v), want a lock timeout", err, ctx.Err())
	}
	if err := reader.Rollback(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := db.WriteRecords(t.Context(), rec(2, later)); err != nil {
		t.Errorf("WriteRecords once the reader is done: %v", err)
	}
}

// TestDB_PurgeBehindAStuckWriter: a writer stuck in its transaction (its
// connection gone silent) holds store_meta; a purge waiting for it must
// not hold every other gateway's writes behind it, and goes ahead once the
// stuck one ends.
func TestDB_PurgeBehindAStuckWriter(t *testing.T) {
	u := freshSchema(t)
	db, purger := mustOpen(t, u), mustOpen(t, u)
	rec := func(n int) []*lyumen.Record {
		return []*lyumen.Record{{ID: fmt.Sprintf("01970000-0000-7000-8000-%012d", n), ReceivedAt: time.Now().UTC().Truncate(time.Microsecond), Model: "m"}}
	}
	if err := db.WriteRecords(t.Context(), rec(1)); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	stuck, err := conn.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stuck.Exec(t.Context(), `SELECT FROM store_meta FOR SHARE`); err != nil {
		t.Fatal(err)
	}
	purged := make(chan error, 1)
	go func() {
		_, err := purger.Purge(context.Background(), lyumen.Purge{IDs: []string{rec(1)[0].ID}})
		purged <- err
	}()
	time.Sleep(200 * time.Millisecond) // the purge is waiting for the lock
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := db.WriteRecords(ctx, rec(2)); err != nil {
		t.Errorf("a gateway's write while a purge waits behind a stuck writer: %v", err)
	}
	if err := stuck.Rollback(t.Context()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-purged:
		if err != nil {
			t.Errorf("purge: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("the purge did not end once the stuck writer did")
	}
}

// TestUnreachable tells a server that cannot be reached from one that
// answers with a refusal.
func TestUnreachable(t *testing.T) {
	base := testURL(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	nobody := *u
	nobody.Host = "127.0.0.1:1"
	noDB := *u
	noDB.Path = "/no_such_database_here"
	noTLS := *u // the test server has no certificate to verify
	q := noTLS.Query()
	q.Set("sslmode", "verify-full")
	noTLS.RawQuery = q.Encode()
	// A server out of connections answers 53300, for now: here a role
	// allowed none.
	conn, err := pgx.Connect(t.Context(), base)
	if err != nil {
		t.Fatal(err)
	}
	role := "lyumen_test_full_" + strings.ToLower(rand.Text()[:8])
	if _, err := conn.Exec(t.Context(), "CREATE ROLE "+role+" LOGIN CONNECTION LIMIT 0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Exec(context.Background(), "DROP ROLE "+role)
		conn.Close(context.Background())
	})
	full := *u
	full.User = url.User(role)
	for _, tc := range []struct {
		url  string
		want bool
	}{{nobody.String(), true}, {noDB.String(), false}, {noTLS.String(), false}, {full.String(), true}} {
		_, err := postgres.Open(t.Context(), tc.url)
		if err == nil {
			t.Fatalf("Open(%s) succeeded", tc.url)
		}
		if got := postgres.Unreachable(err); got != tc.want {
			t.Errorf("Unreachable(%v) = %v, want %v", err, got, tc.want)
		}
	}
}
