package storage

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // the driver package sqlite uses, for a raw connection

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/postgres"
	"github.com/lyumen/lyumen/sqlite"
)

// Store is what is measured: the batch write path every store shares.
type Store interface {
	WriteRecords(ctx context.Context, recs []*lyumen.Record) error
}

// Target is a fresh, empty store and the means to weigh it.
type Target struct {
	Name  string
	Store Store
	// weigh measures the store on disk and closes it.
	weigh func(ctx context.Context) (Weight, error)
	// drop removes what the target made; it runs after weigh or instead.
	drop func() error
	// server reports the database server's work so far; nil for SQLite,
	// which works in this process.
	server func(ctx context.Context) (Server, error)
}

// Weight is what a store takes on disk.
type Weight struct {
	// Disk is the SQLite file after a checkpoint folded the WAL into it,
	// or the PostgreSQL tables (record_rows' partitions, blobs, labels)
	// with their TOAST tables and indexes.
	Disk int64
	// Vacuumed is the SQLite file after VACUUM; 0 for PostgreSQL.
	Vacuumed int64
	// Parts splits Disk by table and index.
	Parts []Part
}

// Part is one table or index.
type Part struct {
	Name  string
	Bytes int64
	// Unused is the free space inside its pages (SQLite only): page slack.
	Unused int64
}

// Weigh measures the store and closes it. Call it once, when done writing.
func (t *Target) Weigh(ctx context.Context) (Weight, error) {
	w, err := t.weigh(ctx)
	if err != nil {
		return w, fmt.Errorf("weigh %s: %w", t.Name, err)
	}
	return w, nil
}

// Close removes what the target made (file, schema).
func (t *Target) Close() error { return t.drop() }

// Write stores recs in batches of batch and returns the time spent in
// WriteRecords.
func Write(ctx context.Context, s Store, recs []*lyumen.Record, batch int) (time.Duration, error) {
	var spent time.Duration
	for len(recs) > 0 {
		n := min(batch, len(recs))
		start := time.Now()
		if err := s.WriteRecords(ctx, recs[:n]); err != nil {
			return spent, err
		}
		spent += time.Since(start)
		recs = recs[n:]
	}
	return spent, nil
}

// NewSQLite opens a fresh SQLite store in dir.
func NewSQLite(ctx context.Context, dir string) (*Target, error) {
	path := filepath.Join(dir, "lyumen-storage-bench.db")
	if err := removeDB(path); err != nil {
		return nil, err
	}
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	open := true
	return &Target{
		Name:  "SQLite",
		Store: db,
		weigh: func(ctx context.Context) (Weight, error) {
			open = false
			if err := db.Close(); err != nil {
				return Weight{}, err
			}
			return weighSQLite(ctx, path)
		},
		drop: func() error {
			if open {
				open = false
				_ = db.Close() // removing the file is what matters
			}
			return removeDB(path)
		},
	}, nil
}

func weighSQLite(ctx context.Context, path string) (Weight, error) {
	var w Weight
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		return w, err
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	if _, err := raw.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return w, fmt.Errorf("checkpoint: %w", err)
	}
	if w.Disk, err = fileSize(path); err != nil {
		return w, err
	}
	rows, err := raw.QueryContext(ctx, `SELECT name, sum(pgsize), sum(unused) FROM dbstat GROUP BY name ORDER BY sum(pgsize) DESC`)
	if err != nil {
		return w, fmt.Errorf("dbstat: %w", err)
	}
	defer rows.Close()
	var other Part
	for rows.Next() {
		var p Part
		if err := rows.Scan(&p.Name, &p.Bytes, &p.Unused); err != nil {
			return w, err
		}
		if strings.HasPrefix(p.Name, "sqlite_schema") || p.Name == "schema_migrations" {
			other.Bytes += p.Bytes
			other.Unused += p.Unused
			continue
		}
		w.Parts = append(w.Parts, p)
	}
	if err := rows.Err(); err != nil {
		return w, err
	}
	var free, pageSize int64
	if err := raw.QueryRowContext(ctx, `SELECT freelist_count, page_size FROM pragma_freelist_count, pragma_page_size`).Scan(&free, &pageSize); err != nil {
		return w, err
	}
	other.Name = "schema and free pages"
	other.Bytes += free * pageSize
	w.Parts = append(w.Parts, other)
	if _, err := raw.ExecContext(ctx, `VACUUM`); err != nil {
		return w, fmt.Errorf("vacuum: %w", err)
	}
	if _, err := raw.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return w, fmt.Errorf("checkpoint: %w", err)
	}
	if w.Vacuumed, err = fileSize(path); err != nil {
		return w, err
	}
	return w, nil
}

// removeDB removes a SQLite database and its WAL files.
func removeDB(path string) error {
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(path + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

func fileSize(path string) (int64, error) {
	var total int64
	for _, suffix := range []string{"", "-wal"} {
		fi, err := os.Stat(path + suffix)
		if errors.Is(err, os.ErrNotExist) && suffix != "" {
			continue
		}
		if err != nil {
			return 0, err
		}
		total += fi.Size()
	}
	return total, nil
}

// NewPostgres opens a fresh store in a new schema of the database at
// baseURL; Close drops the schema.
func NewPostgres(ctx context.Context, baseURL string) (*Target, error) {
	conn, err := pgx.Connect(ctx, baseURL)
	if err != nil {
		return nil, fmt.Errorf("connect postgres: %w", err)
	}
	defer conn.Close(ctx)
	schema := pgx.Identifier{"lyumen_bench_" + strings.ToLower(rand.Text()[:10])}.Sanitize()
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return nil, fmt.Errorf("create schema: %w", err)
	}
	dropSchema := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, baseURL)
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		_, err = c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
		return err
	}
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, errors.Join(err, dropSchema())
	}
	q := u.Query()
	q.Set("search_path", strings.Trim(schema, `"`))
	app := "lyumen-storagebench-" + strings.Trim(schema, `"`)[len("lyumen_bench_"):]
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	db, err := postgres.Open(ctx, u.String())
	if err != nil {
		return nil, errors.Join(err, dropSchema())
	}
	open := true
	return &Target{
		Name:   "PostgreSQL",
		Store:  db,
		server: pgServer(baseURL, app),
		weigh: func(ctx context.Context) (Weight, error) {
			open = false
			if err := db.Close(); err != nil {
				return Weight{}, err
			}
			return weighPostgres(ctx, u.String())
		},
		drop: func() error {
			if open {
				open = false
				_ = db.Close() // dropping the schema is what matters
			}
			return dropSchema()
		},
	}, nil
}

func weighPostgres(ctx context.Context, dsn string) (Weight, error) {
	var w Weight
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return w, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `
		SELECT 'records (heap and TOAST)', sum(pg_table_size(relid)), sum(pg_indexes_size(relid))
		FROM pg_partition_tree('record_rows') WHERE isleaf
		UNION ALL
		SELECT 'blobs (heap and TOAST)', pg_table_size('blobs'), pg_indexes_size('blobs')
		UNION ALL
		SELECT 'labels (heap and TOAST)', pg_table_size('labels'), pg_indexes_size('labels')`)
	if err != nil {
		return w, err
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var table, index int64
		if err := rows.Scan(&name, &table, &index); err != nil {
			return w, err
		}
		w.Parts = append(w.Parts,
			Part{Name: name, Bytes: table},
			Part{Name: strings.Fields(name)[0] + " indexes", Bytes: index})
		w.Disk += table + index
	}
	return w, rows.Err()
}
