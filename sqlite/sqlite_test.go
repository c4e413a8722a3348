package sqlite_test

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/sqlite"
	"github.com/lyumen/lyumen/storetest"
)

var _ storetest.Store = (*sqlite.DB)(nil)

func TestDB(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return mustOpen(t, filepath.Join(t.TempDir(), "lyumen.db")) })
}

// mustOpen opens the database at path and closes it when the test ends.
func mustOpen(tb testing.TB, path string) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(tb.Context(), path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Error(err)
		}
	})
	return db
}

// migrationCount is the number of migration files, which is the schema
// version once all are applied (they are numbered 1, 2, 3, …).
func migrationCount(tb testing.TB) int {
	tb.Helper()
	files, err := filepath.Glob("migration/*.sql")
	if err != nil || len(files) == 0 {
		tb.Fatalf("no migrations found: %v", err)
	}
	return len(files)
}

func TestOpen_File(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lyumen.db")
	rec := &lyumen.Record{ID: "01970000-0000-7000-8000-000000000001", Model: "m", ReceivedAt: time.Unix(1700000000, 0).UTC()}

	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.WriteRecords(t.Context(), []*lyumen.Record{rec}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file: %v", err)
	}

	// The record outlives the handle.
	db = mustOpen(t, path)
	got, err := db.Record(t.Context(), rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rec, got); diff != "" {
		t.Errorf("record after reopen differs (-want +got):\n%s", diff)
	}

	// WAL and the page size are properties of the file, so a plain
	// connection sees them.
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var mode string
	var pageSize int
	if err := raw.QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if err := raw.QueryRowContext(t.Context(), "PRAGMA page_size").Scan(&pageSize); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" || pageSize != 16384 {
		t.Errorf("journal_mode = %q, page_size = %d; want wal, 16384", mode, pageSize)
	}
}

// TestOpen_FilesAreTheOwners: a new store, its write-ahead log and its
// shared memory hold every prompt: no other user of the machine may read
// them, whatever the umask. An existing file keeps its permissions.
func TestOpen_FilesAreTheOwners(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "lyumen.db")
	db := mustOpen(t, path)
	if err := db.WriteRecords(t.Context(), []*lyumen.Record{{ID: "01970000-0000-7000-8000-000000000001", Model: "m", ReceivedAt: time.Unix(1700000000, 0).UTC()}}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"lyumen.db", "lyumen.db-wal", "lyumen.db-shm"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s has permissions %v: others may read it", name, perm)
		}
	}
	kept := filepath.Join(dir, "kept.db")
	if err := os.WriteFile(kept, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	os.Chmod(kept, 0o640) // past the umask
	mustOpen(t, kept)
	if fi, err := os.Stat(kept); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("an existing store's permissions changed: %v, %v", fi.Mode().Perm(), err)
	}
}

// Settings each of the store's connections must have.
func TestOpen_Pragmas(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "lyumen.db"))
	for _, tc := range []struct {
		name, want, why string
	}{
		// The spool forgets a record once it is committed here: with
		// NORMAL a commit survived a crash of the process, not of the
		// machine.
		{"synchronous", "2", "FULL: the WAL is fsynced at each commit"},
		// With the default, a batch's statement journal spilled to files in
		// the system's temp dir.
		{"temp_store", "2", "MEMORY"},
	} {
		got, err := sqlite.Pragma(t.Context(), db, tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("%s = %s, want %s (%s)", tc.name, got, tc.want, tc.why)
		}
	}
}

func TestOpen_MigrationsOnReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lyumen.db")
	want := migrationCount(t)

	applied := func() map[int]string { // version → applied_at
		t.Helper()
		raw, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		rows, err := raw.QueryContext(t.Context(), "SELECT version, applied_at FROM schema_migrations")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		m := map[int]string{}
		for rows.Next() {
			var v int
			var at string
			if err := rows.Scan(&v, &at); err != nil {
				t.Fatal(err)
			}
			m[v] = at
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return m
	}

	var first map[int]string
	for i := range 3 {
		db, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		v, err := db.Version(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if v != want {
			t.Errorf("open %d: Version = %d, want %d", i, v, want)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		got := applied()
		if len(got) != want {
			t.Errorf("open %d: %d rows in schema_migrations, want %d", i, len(got), want)
		}
		if first == nil {
			first = got
			continue
		}
		if diff := cmp.Diff(first, got); diff != "" {
			t.Errorf("open %d changed schema_migrations (-first +now):\n%s", i, diff)
		}
	}
}

func TestOpen_Path(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		path    string
		wantErr bool
	}{
		{name: "characters that mean something in a URI", path: filepath.Join(dir, "a b?c=d#e%20f.db")},
		{name: "relative path", path: "lyumen.db"},
		{name: "empty path", path: "", wantErr: true},
		{name: "missing directory", path: filepath.Join(dir, "missing", "lyumen.db"), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.wantErr && !filepath.IsAbs(tc.path) {
				t.Chdir(t.TempDir())
			}
			db, err := sqlite.Open(t.Context(), tc.path)
			if tc.wantErr {
				if err == nil {
					db.Close()
					t.Fatalf("Open(%q) succeeded, want an error", tc.path)
				}
				if !strings.Contains(err.Error(), "open sqlite") {
					t.Errorf("error %q does not say what failed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := os.Stat(tc.path); err != nil {
				t.Errorf("database not at the given path: %v", err)
			}
		})
	}
}

// Two handles on one file stand for two processes: writes must wait for
// each other (busy_timeout) rather than fail.
func TestDB_TwoHandles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lyumen.db")
	dbs := []*sqlite.DB{mustOpen(t, path), mustOpen(t, path)}
	const batches, size = 20, 50
	var wg sync.WaitGroup
	for h, db := range dbs {
		wg.Go(func() {
			for b := range batches {
				batch := make([]*lyumen.Record, size)
				for i := range batch {
					batch[i] = &lyumen.Record{ID: fmt.Sprintf("01970000-0000-7000-8000-%04x%04x%04x", h, b, i), Request: make([]byte, 2048)}
				}
				if err := db.WriteRecords(t.Context(), batch); err != nil {
					t.Errorf("handle %d batch %d: %v", h, b, err)
					return
				}
			}
		})
	}
	wg.Wait()
	for h, db := range dbs {
		n, err := db.Count(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if n != 2*batches*size {
			t.Errorf("handle %d: Count = %d, want %d", h, n, 2*batches*size)
		}
	}
}

// BenchmarkWriteRecords writes batches of 500 records of about 2 KB each,
// the shape of a spool flush.
func BenchmarkWriteRecords(b *testing.B) { benchWriteRecords(b, 500) }

// BenchmarkWriteRecords_Small writes batches of the size a gateway ships
// under moderate load, where the cost per batch weighs more.
func BenchmarkWriteRecords_Small(b *testing.B) { benchWriteRecords(b, 37) }

func benchWriteRecords(b *testing.B, batchSize int) {
	db := mustOpen(b, filepath.Join(b.TempDir(), "lyumen.db"))
	batch := make([]*lyumen.Record, batchSize)
	for i := range batch {
		batch[i] = benchRecord()
	}
	b.ReportAllocs()
	start := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	n := 0
	for b.Loop() {
		for _, r := range batch { // fresh ids, or every batch after the first is skipped
			r.ID = fmt.Sprintf("01970000-0000-7000-8000-%012x", n)
			r.ReceivedAt = start.Add(time.Duration(n) * time.Millisecond) // time moves on, as in production
			n++
		}
		if err := db.WriteRecords(b.Context(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}

// benchRecord returns a typical chat exchange: a 1.5 KB request and a
// 0.5 KB completion.
func benchRecord() *lyumen.Record {
	prompt := strings.Repeat("Summarise the following paragraph in one sentence. ", 27)
	answer := strings.Repeat("The paragraph says <this> & that. ", 14)
	return &lyumen.Record{
		Duration:    1200 * time.Millisecond,
		TTFT:        180 * time.Millisecond,
		Surface:     lyumen.SurfaceOpenAIChat,
		Model:       "gpt-4o-mini",
		ServedModel: "gpt-4o-mini-2024-07-18",
		Provider:    "openai",
		Stream:      true,
		Status:      200,
		Request:     fmt.Appendf(nil, `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":%q}]}`, prompt),
		Response: &lyumen.Response{
			ID:      "chatcmpl-bench",
			Model:   "gpt-4o-mini-2024-07-18",
			Choices: []lyumen.Choice{{Message: lyumen.Message{Role: "assistant", Content: answer}, FinishReason: "stop"}},
			Usage:   &lyumen.Usage{PromptTokens: 310, CompletionTokens: 120, TotalTokens: 430},
		},
		Usage:        lyumen.Usage{PromptTokens: 310, CompletionTokens: 120, TotalTokens: 430},
		UserAgent:    "OpenAI/Python 1.82.0",
		Country:      "DE",
		Completeness: lyumen.Complete,
		Attempts:     []lyumen.Attempt{{Provider: "openai", Model: "gpt-4o-mini", Status: 200, Duration: 1190 * time.Millisecond}},
	}
}

// TestDB_IDs: ids are kept as the UUID's 16 bytes, so any spelling of a
// UUID finds its record, which comes back spelled canonically.
func TestDB_IDs(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "lyumen.db"))
	rec := &lyumen.Record{ID: "0197ABCD-0000-7000-8000-00000000000F", Model: "m"}
	if err := db.WriteRecords(t.Context(), []*lyumen.Record{rec}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{rec.ID, strings.ToLower(rec.ID)} {
		got, err := db.Record(t.Context(), id)
		if err != nil {
			t.Fatalf("Record(%q): %v", id, err)
		}
		if want := strings.ToLower(rec.ID); got.ID != want {
			t.Errorf("Record(%q).ID = %q, want %q", id, got.ID, want)
		}
	}
	for _, id := range []string{"", "x", "0197abcd-0000-7000-8000-00000000000g", "0197abcd00007000800000000000000f0000"} {
		_, err := db.Record(t.Context(), id)
		if e, ok := errors.AsType[*lyumen.Error](err); !ok || e.Kind != lyumen.KindNotFound {
			t.Errorf("Record(%q) error = %v, want KindNotFound", id, err)
		}
	}
}

func TestDB_Purge(t *testing.T) {
	paths := map[storetest.PurgeStore]string{} // a second handle opens the same file
	storetest.RunPurge(t,
		func(t *testing.T) storetest.PurgeStore {
			path := filepath.Join(t.TempDir(), "lyumen.db")
			db := mustOpen(t, path)
			paths[db] = path
			return db
		},
		func(t *testing.T, s storetest.PurgeStore) storetest.PurgeStore { return mustOpen(t, paths[s]) },
		func(s storetest.PurgeStore, text string) bool { return sqlite.Remembers(s.(*sqlite.DB), text) })
}

// TestDB_PurgeLeavesNoBytes: the content of a purged record's own blobs is
// in neither the database file nor its write-ahead log afterwards, though
// both held it before.
func TestDB_PurgeLeavesNoBytes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lyumen.db")
	db := mustOpen(t, path)
	chat := func(id, answer string) *lyumen.Record {
		return &lyumen.Record{
			ID: id, ReceivedAt: time.Now(), Surface: lyumen.SurfaceOpenAIChat, Model: "m",
			Conversation: &lyumen.Conversation{Messages: []lyumen.Message{{Role: "user", Content: "the same question, asked by both records"}}},
			Response:     &lyumen.Response{Choices: []lyumen.Choice{{Message: lyumen.Message{Role: "assistant", Content: answer}}}},
		}
	}
	a := chat("01970000-0000-7000-8000-000000000001", "a purged answer, its own blob: 6c1f0e93d2 and more words")
	b := chat("01970000-0000-7000-8000-000000000002", "a kept answer, its own blob too: 41aa97be05 and more words")
	if err := db.WriteRecords(t.Context(), []*lyumen.Record{a, b}); err != nil {
		t.Fatal(err)
	}
	blobs := func() map[string][]byte {
		t.Helper()
		raw, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		rows, err := raw.QueryContext(t.Context(), "SELECT hash, data FROM blobs")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		m := map[string][]byte{}
		for rows.Next() {
			var h, data []byte
			if err := rows.Scan(&h, &data); err != nil {
				t.Fatal(err)
			}
			m[string(h)] = data
		}
		return m
	}
	files := func() []byte { return storeBytes(t, path) }
	before, raw := blobs(), files()
	got, err := db.Purge(t.Context(), lyumen.Purge{IDs: []string{a.ID}})
	if err != nil || got.Records != 1 || got.Blobs != 1 || got.Warning != "" {
		t.Fatalf("Purge = %+v, %v; want one record and its answer, no warning", got, err)
	}
	after, rawAfter := blobs(), files()
	for h, data := range before {
		if _, kept := after[h]; kept {
			continue
		}
		if !bytes.Contains(raw, data) {
			t.Fatalf("the purged blob's %d bytes were not in the files before the purge: the test proves nothing", len(data))
		}
		if bytes.Contains(rawAfter, data) {
			t.Errorf("the purged blob's %d bytes are still in the files", len(data))
		}
	}
	gotB, err := db.Record(t.Context(), b.ID)
	if err != nil || gotB.Response.Choices[0].Message.Content != b.Response.Choices[0].Message.Content {
		t.Errorf("the kept record: %v", err)
	}
}

// TestDB_PurgeLeavesNoBytes_AfterSplits: a record stored first sits in the
// tables' root pages; when a root splits, SQLite copies its cells down and
// leaves the old bytes in the root's unused space, which a purge's zeroing
// of the live copies does not reach. With secure_delete on every
// connection, a split zeroes what it moves.
func TestDB_PurgeLeavesNoBytes_AfterSplits(t *testing.T) {
	dir := t.TempDir()
	db := mustOpen(t, filepath.Join(dir, "lyumen.db"))
	rec := func(n int, ua, short, long string) *lyumen.Record {
		return &lyumen.Record{
			ID:         fmt.Sprintf("01970000-0000-7000-8000-%012x", n),
			ReceivedAt: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Second),
			Model:      "m", UserAgent: ua,
			Request:  fmt.Appendf(nil, `{"model":"m","messages":[{"role":"user","content":%q},{"role":"user","content":%q}]}`, short, long),
			Response: &lyumen.Response{Choices: []lyumen.Choice{{Message: lyumen.Message{Role: "assistant", Content: "answer " + long}}}},
		}
	}
	markers := []string{"UA-MARKER-qz7x", "SHORTMARK-k9", "LONGMARKER-p4v8"}
	purged := rec(1, markers[0], markers[1], markers[2]+" "+strings.Repeat("x", 40)+"-END")
	if err := db.WriteRecords(t.Context(), []*lyumen.Record{purged}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 500; i += 7 { // enough to split every root page
		var batch []*lyumen.Record
		for j := i; j < min(i+7, 500); j++ {
			batch = append(batch, rec(100+j, "curl/8", fmt.Sprintf("short %d", j), fmt.Sprintf("other content %d %s", j, strings.Repeat("y", 600+j%500))))
		}
		if err := db.WriteRecords(t.Context(), batch); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Purge(t.Context(), lyumen.Purge{IDs: []string{purged.ID}}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range markers {
			if n := bytes.Count(b, []byte(m)); n > 0 {
				t.Errorf("%s still holds %q %d times after the purge", filepath.Base(f), m, n)
			}
		}
	}
}

// TestDB_PurgeLeavesNoBytes_Overflow: a blob larger than a page spills
// into overflow pages, which a delete frees without writing to them unless
// secure_delete is fully on (FAST zeroes only the pages written anyway):
// none of a purged large blob's bytes stay in the files.
func TestDB_PurgeLeavesNoBytes_Overflow(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "lyumen.db")
	db := mustOpen(t, path)
	// Hex of a pseudo-random stream: it does not compress to under a page.
	var big strings.Builder
	for x := uint64(0x9e3779b97f4a7c15); big.Len() < 200000; {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		fmt.Fprintf(&big, "%016x", x)
	}
	rec := func(n int, answer string) *lyumen.Record {
		return &lyumen.Record{ID: fmt.Sprintf("01970000-0000-7000-8000-%012x", n), ReceivedAt: time.Now(), Model: "m",
			Response: &lyumen.Response{Choices: []lyumen.Choice{{Message: lyumen.Message{Role: "assistant", Content: answer}}}}}
	}
	purged := rec(1, big.String())
	if err := db.WriteRecords(t.Context(), []*lyumen.Record{purged, rec(2, "an answer that stays, long enough to be a blob")}); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	var data []byte
	err = raw.QueryRowContext(t.Context(), `SELECT data FROM blobs ORDER BY length(data) DESC LIMIT 1`).Scan(&data)
	raw.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(data) < 4*16384 { // pages of 16 KiB (see dsn)
		t.Fatalf("the largest blob has %d bytes: the test proves nothing", len(data))
	}
	files := func() []byte { return storeBytes(t, path) }
	// Pieces of the blob, each within one page or spanning two: those the
	// files hold before the purge must be gone after it.
	before := files()
	var pieces [][]byte
	for off := 0; off+256 <= len(data); off += 1000 {
		if p := data[off : off+256]; bytes.Contains(before, p) {
			pieces = append(pieces, p)
		}
	}
	if len(pieces) < len(data)/1000/2 {
		t.Fatalf("only %d pieces of the blob in the files before the purge: the test proves nothing", len(pieces))
	}
	got, err := db.Purge(t.Context(), lyumen.Purge{IDs: []string{purged.ID}})
	if err != nil || got.Records != 1 || got.Blobs != 1 || got.Warning != "" {
		t.Fatalf("Purge = %+v, %v; want the record and its answer, no warning", got, err)
	}
	after := files()
	left := 0
	for _, p := range pieces {
		if bytes.Contains(after, p) {
			left++
		}
	}
	if left > 0 {
		t.Errorf("%d of %d pieces of the purged blob are still in the files", left, len(pieces))
	}
}

// TestDB_PurgeWhileRead: while another connection reads, the write-ahead
// log cannot be emptied; the purge stands and says so in its warning. Once
// the store is idle, the purge run again empties it, without a warning.
func TestDB_PurgeWhileRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lyumen.db")
	db := mustOpen(t, path)
	r := &lyumen.Record{ID: "01970000-0000-7000-8000-000000000001", ReceivedAt: time.Now(), Model: "m",
		Response: &lyumen.Response{Choices: []lyumen.Choice{{Message: lyumen.Message{Role: "assistant", Content: "an answer purged while read, long enough to be a blob"}}}}}
	if err := db.WriteRecords(t.Context(), []*lyumen.Record{r}); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	reader, err := raw.BeginTx(t.Context(), &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := reader.QueryRowContext(t.Context(), `SELECT count(*) FROM records`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the reader sees %d records, %v", n, err)
	}
	// A try at the checkpoint does not wait out the busy timeout (5 s),
	// during which it would hold every writer back: the tries take about
	// two seconds in all.
	start := time.Now()
	got, err := db.Purge(t.Context(), lyumen.Purge{IDs: []string{r.ID}})
	if err != nil || got.Records != 1 || !strings.Contains(got.Warning, "write-ahead log") {
		t.Errorf("Purge while read = %+v, %v; want the record deleted and a warning about the log", got, err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("the purge took %v while a reader held the log", d)
	}
	reader.Rollback()
	if _, err := db.Record(t.Context(), r.ID); err == nil {
		t.Error("the record is still there after the purge")
	}
	got, err = db.Purge(t.Context(), lyumen.Purge{IDs: []string{r.ID}})
	if err != nil || got.Warning != "" {
		t.Errorf("Purge when idle = %+v, %v; want no warning", got, err)
	}
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() != 0 {
		t.Errorf("the write-ahead log holds %d bytes after the purge when idle", fi.Size())
	}
}

// storeBytes returns the bytes of the store at path and its write-ahead
// log: everything a purge must have zeroed.
func storeBytes(tb testing.TB, path string) []byte {
	tb.Helper()
	var all []byte
	for _, p := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			tb.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}
