// Package sqlite is the embedded record store: lyumen.Records in a SQLite
// file, through modernc.org/sqlite (pure Go, so the binary needs no cgo),
// in the storage layout of internal/pack that package postgres shares.
// Open applies the schema migrations embedded from migration/.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/lyumen/lyumen/internal/pack"
)

// migrations holds the schema, one file per version: NNNN_name.sql.
//
//go:embed migration/*.sql
var migrations embed.FS

// DB is a record store in one SQLite file. It is safe for concurrent use.
type DB struct {
	db      *sql.DB
	path    string
	packer  *pack.Packer // the storage layout, shared with package postgres
	stored  *pack.Recent // blobs recent batches stored
	inserts *inserts

	afterCut func() // tests: runs between a batch's cut and its transaction
}

// Open opens (creating if needed) the database file at path and brings its
// schema up to date.
func Open(ctx context.Context, path string) (*DB, error) {
	// The store holds every prompt and answer: a new one is its owner's
	// alone, as the spool is (SQLite gives its write-ahead log and
	// shared-memory files the database file's permissions). An existing
	// file keeps the permissions its operator gave it.
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err == nil {
		f.Close()
	} else if path != "" && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return open(ctx, path, true)
}

// OpenExisting opens the store at path, which must exist with this build's
// schema, without changing it: for commands that read or delete. A missing
// file is an error (a mistyped path or the wrong directory), not a new
// empty store, and a schema is migrated only by serve or migrate, never
// under older gateways by a report.
func OpenExisting(ctx context.Context, path string) (*DB, error) {
	// An empty file or a directory is no store either: opening one would
	// make it a database.
	if fi, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) || err == nil && (fi.IsDir() || fi.Size() == 0) {
		return nil, fmt.Errorf("no store at %s (lyumen serve or lyumen migrate creates it)", path)
	}
	return open(ctx, path, false)
}

func open(ctx context.Context, path string, migrate bool) (*DB, error) {
	if path == "" {
		return nil, errors.New("open sqlite: empty path")
	}
	sdb, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	db := &DB{db: sdb, path: path, packer: pack.New(), stored: pack.NewRecent(1 << 16)}
	// sql.Open connects lazily; Ping surfaces a bad path here, not on first use.
	if err := sdb.PingContext(ctx); err != nil {
		_ = sdb.Close() // the open error is the one worth reporting
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	if migrate {
		err = db.migrate(ctx)
	} else {
		err = db.current(ctx)
	}
	if err != nil {
		_ = sdb.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	if db.inserts, err = prepareInserts(ctx, sdb); err != nil {
		_ = sdb.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return db, nil
}

// dsn builds the connection string. The settings go in the DSN, not in a
// one-off Exec, because database/sql opens connections as it needs them and
// each must be configured the same way.
//   - page_size=16384: SQLite reads and writes a page per system call, and a
//     16 KiB page holds seven 2 KB records where a 4 KiB one holds one or
//     two; WriteRecords measured 1.7 to 3 times faster than with 4 KiB. It
//     only counts while the file is new, so it must run before WAL is set.
//   - WAL lets readers run while a batch is being written.
//   - synchronous=FULL fsyncs the WAL at each commit. The spool forgets a
//     record once the store has committed it, so a commit must survive a
//     power cut too; NORMAL fsyncs only at WAL checkpoints, and lost the
//     commits since the last one. The cost is one fsync per batch, in the
//     shipper, off the request path.
//   - cache_size(-65536) lets each connection cache up to 64 MiB of pages
//     (the default is 2 MiB). The blob and index b-trees are written and
//     read at random places, by hash and by time; with the small cache
//     every batch read back pages it had just evicted. It is a bound, not
//     an allocation.
//   - temp_store=MEMORY keeps SQLite's temporary files in memory. A
//     multi-row INSERT keeps a statement journal, and past 64 KiB (four
//     pages) SQLite spilled it to a new file in the system's temp dir
//     (seen in a runtime trace of the gateway): pages of records written
//     outside the store's directory, on a disk the operator did not
//     choose. The one sort the store's queries need (a scan orders the
//     records that share a received_at by id) holds a handful of rows,
//     so nothing else of size moves into memory.
//   - busy_timeout makes a writer wait for the write lock instead of failing
//     at once when another connection or process holds it.
//   - _txlock=immediate takes the write lock at BEGIN, so a transaction never
//     has to upgrade a read lock, which SQLite can only refuse, not wait for.
//
// The driver runs busy_timeout first, then the other _pragma values, then
// _journal_mode, which is why WAL is set through _journal_mode. The path is
// escaped into a file: URI so that '?', '#' and '%' in it are not taken for
// URI syntax.
func dsn(filePath string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "page_size(16384)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "cache_size(-65536)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Add("_pragma", "temp_store(MEMORY)")
	// A page split leaves the cells it moved in the old page's free space,
	// where a purge's zeroing cannot reach them later; FAST zeroes them
	// as they move, at no extra I/O (Purge turns on the full mode).
	q.Add("_pragma", "secure_delete(FAST)")
	q.Set("_journal_mode", "WAL")
	q.Set("_txlock", "immediate")
	return "file:" + (&url.URL{Path: filePath}).EscapedPath() + "?" + q.Encode()
}

// Close closes the database.
func (db *DB) Close() error {
	db.inserts.close()
	if err := db.db.Close(); err != nil {
		return fmt.Errorf("close sqlite %s: %w", db.path, err)
	}
	return nil
}

// Version returns the highest applied migration, 0 for none.
func (db *DB) Version(ctx context.Context) (int, error) {
	var v int
	err := db.db.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// current checks that the store's schema is this build's.
func (db *DB) current(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migration/*.sql")
	if err != nil {
		return err
	}
	v, err := db.Version(ctx)
	if err != nil {
		return err
	}
	switch want := len(names); {
	case v < want:
		return fmt.Errorf("the store's schema is version %d, this build's %d: run this build's lyumen migrate first", v, want)
	case v > want:
		return fmt.Errorf("the store's schema is version %d, newer than this build's %d: use a newer lyumen", v, want)
	}
	return nil
}

// migrate applies, in order, every embedded migration not yet recorded in
// schema_migrations, each in its own transaction so a failed file leaves no
// half-applied schema behind.
func (db *DB) migrate(ctx context.Context) error {
	_, err := db.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at TEXT NOT NULL
	)`)
	if err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	names, err := fs.Glob(migrations, "migration/*.sql") // sorted by name
	if err != nil {
		return fmt.Errorf("list migrations: %w", err)
	}
	last := 0
	for _, name := range names {
		v, err := migrationVersion(name)
		if err != nil {
			return err
		}
		// Names sort as strings; catch a file whose number would sort wrongly.
		if v <= last {
			return fmt.Errorf("migration %s: version %d does not follow %d", name, v, last)
		}
		last = v
		if err := db.migrateFile(ctx, name, v); err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
	}
	return nil
}

// migrationVersion reads the number in front of the first '_' of a name.
func migrationVersion(name string) (int, error) {
	prefix, _, _ := strings.Cut(path.Base(name), "_")
	v, err := strconv.Atoi(prefix)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("migration %s: name must start with a positive number and '_'", name)
	}
	return v, nil
}

func (db *DB) migrateFile(ctx context.Context, name string, version int) error {
	script, err := fs.ReadFile(migrations, name)
	if err != nil {
		return err
	}
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // no-op once committed

	// Checked inside the write transaction, so two processes opening the same
	// file at once cannot both apply a migration.
	var applied bool
	err = tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?)`, version).Scan(&applied)
	if err != nil {
		return err
	}
	if applied {
		return nil
	}
	if _, err := tx.ExecContext(ctx, string(script)); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at)
		VALUES (?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`, version)
	if err != nil {
		return err
	}
	return tx.Commit()
}
