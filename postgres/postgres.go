// Package postgres is the record store on PostgreSQL, for deployments that
// outgrow one machine: several gateways write to one database. It keeps the
// same contract and layout as package sqlite (storetest checks both).
package postgres

import (
	"context"
	"crypto/tls"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/pack"
)

//go:embed migration/*.sql
var migrations embed.FS

// DB is an open store.
type DB struct {
	pool   *pgxpool.Pool
	packer *pack.Packer
	stored *pack.Recent // blobs recent batches stored
	labels labelCache

	mu     sync.Mutex
	months map[int]bool // partitions known to exist, by year*12+month
	ahead  time.Time    // when the next month's partition was last tried
	// partitionWait bounds the wait for the lock that making a partition
	// takes; see partition.
	partitionWait time.Duration

	afterRows func() // tests: runs between reading rows and their blobs
}

// betweenReads runs the test hook afterRows, if any.
func (db *DB) betweenReads() {
	if db.afterRows != nil {
		db.afterRows()
	}
}

// snapshot is how reads that take a row and then its blobs run: in one
// snapshot, taken at the first statement.
var snapshot = pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}

// Open connects to the database at url (postgres://…), and applies the
// migrations it has not seen.
func Open(ctx context.Context, url string) (*DB, error) { return open(ctx, url, true) }

// OpenExisting connects to a store whose schema is this build's, without
// changing it: for commands that read or delete, which must not migrate a
// schema under older gateways, and may run as a role that cannot.
func OpenExisting(ctx context.Context, url string) (*DB, error) { return open(ctx, url, false) }

func open(ctx context.Context, url string, migrate bool) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse postgres url: %w", err)
	}
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		// The spool forgets a record once it is committed here, so a
		// commit must be durable: with synchronous_commit off (a server's
		// or a role's default) it returned before the WAL was flushed.
		// Any other setting is the operator's and is kept.
		_, err := c.Exec(ctx, `
SELECT set_config('synchronous_commit', 'on', false) WHERE current_setting('synchronous_commit') = 'off'`)
		if err != nil {
			return err
		}
		if !migrate {
			// A reader (stats, export, purge) stores nothing, and may run
			// where tables cannot be made: a read-only session, a
			// replica, a role without TEMP.
			return nil
		}
		// A writer whose connection went silent mid-transaction (the
		// spool gives up on it after its WriteTimeout) would otherwise
		// hold store_meta until TCP noticed, hours later: a purge waits
		// on it, and every gateway's writes behind the purge. An
		// operator's own setting is kept.
		// The same writer silent in the middle of a statement (a COPY)
		// is found by the server's keepalives: within two minutes where
		// the system's default waits two hours.
		_, err = c.Exec(ctx, `
SELECT set_config('idle_in_transaction_session_timeout', '60s', false)
WHERE current_setting('idle_in_transaction_session_timeout') = '0';
SELECT set_config('tcp_keepalives_idle', '60', false), set_config('tcp_keepalives_interval', '10', false),
	set_config('tcp_keepalives_count', '6', false)
FROM pg_settings WHERE name = 'tcp_keepalives_idle' AND (setting::int = 0 OR setting::int > 60)`)
		if err != nil {
			return err
		}
		// A per-connection staging table for COPY: COPY cannot skip
		// conflicting rows, INSERT … SELECT … ON CONFLICT can.
		_, err = c.Exec(ctx, `
CREATE TEMP TABLE IF NOT EXISTS record_rows_in (LIKE record_rows) ON COMMIT DELETE ROWS;`)
		if err != nil && isUndefinedTable(err) {
			return nil // before migration 0002; the staging table comes later
		}
		return err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	db := &DB{pool: pool, packer: pack.New(), stored: pack.NewRecent(1 << 16), months: map[int]bool{}, partitionWait: 5 * time.Second}
	if !migrate {
		if err := db.current(ctx); err != nil {
			pool.Close()
			return nil, err
		}
		return db, nil
	}
	if err := db.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	// Connections made before the migration lack the staging table.
	pool.Reset()
	return db, nil
}

// Close closes the connections.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// Version is the highest migration applied.
func (db *DB) Version(ctx context.Context) (int, error) {
	var v int
	err := db.pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// current checks that the store's schema is this build's.
func (db *DB) current(ctx context.Context) error {
	v, err := db.Version(ctx)
	if isUndefinedTable(err) {
		return errors.New("no store in this database (lyumen serve or lyumen migrate creates it)")
	}
	if err != nil {
		return err
	}
	switch want := Migrations(); {
	case v < want:
		return fmt.Errorf("the store's schema is version %d, this build's %d: run this build's lyumen migrate first", v, want)
	case v > want:
		return fmt.Errorf("the store's schema is version %d, newer than this build's %d: use a newer lyumen", v, want)
	}
	return nil
}

// Migrations is the number of migrations this build knows.
func Migrations() int {
	names, _ := fs.Glob(migrations, "migration/*.sql")
	return len(names)
}

// migrate applies each migration file not yet applied, each in its own
// transaction, under an advisory lock so that gateways starting together
// do not race.
func (db *DB) migrate(ctx context.Context) error {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Release()
	const lockID = 0x6c79756d656e // "lyumen"
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, lockID); err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lockID)

	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	names, err := fs.Glob(migrations, "migration/*.sql")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	slices.Sort(names)
	for _, name := range names {
		base := strings.TrimPrefix(name, "migration/")
		v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migrate: %s: name must start with a number", base)
		}
		var done bool
		if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, v).Scan(&done); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if done {
			continue
		}
		sql, err := migrations.ReadFile(name)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, string(sql)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, v)
			return err
		})
		if err != nil {
			return fmt.Errorf("migrate %s: %w", base, err)
		}
	}
	return nil
}

// refused marks err with lyumen.ErrRejected when PostgreSQL refused a value
// for what it is (a data exception, a constraint, a limit), not for an
// outage: the same records would be refused again.
func refused(err error) error {
	if pe, ok := errors.AsType[*pgconn.PgError](err); ok {
		switch pe.Code[:min(2, len(pe.Code))] {
		case "22", "23", "54":
			return fmt.Errorf("%w: %w", lyumen.ErrRejected, err)
		}
	}
	return err
}

func isUniqueViolation(err error) bool {
	pe, ok := errors.AsType[*pgconn.PgError](err)
	return ok && pe.Code == "23505"
}

// Unreachable reports that err from Open is a failure to reach the server
// over the network (down, refusing, not resolving, the connection cut) or
// a state it will leave (starting up, out of connections), not one the
// server answered with (a wrong password, no such database), a TLS failure
// (a certificate that does not verify) or one of the store.
func Unreachable(err error) bool {
	_, connect := errors.AsType[*pgconn.ConnectError](err)
	pe, answered := errors.AsType[*pgconn.PgError](err)
	_, network := errors.AsType[*net.OpError](err)
	_, dns := errors.AsType[*net.DNSError](err)
	_, tlsFailed := errors.AsType[*tls.CertificateVerificationError](err)
	cut := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) // a proxy in front of a server that is down
	// A server starting up or shutting down (57P03), or out of
	// connections (53300), answers, but only for now: a gateway started
	// with its database (compose) meets the first.
	passing := answered && (pe.Code == "57P03" || pe.Code == "53300")
	return connect && !tlsFailed && (passing || !answered && (network || dns || cut))
}

// isLockTimeout reports that a statement gave up waiting for a lock
// (lock_timeout).
func isLockTimeout(err error) bool {
	pe, ok := errors.AsType[*pgconn.PgError](err)
	return ok && pe.Code == "55P03"
}

func isUndefinedTable(err error) bool {
	pe, ok := errors.AsType[*pgconn.PgError](err)
	return ok && pe.Code == "42P01"
}
