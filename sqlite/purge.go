package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/pack"
)

// Purge deletes the records p names, and the blobs that only they referred
// to, in one write transaction that also advances the blob epoch (see
// store_meta), so that writers in other processes forget the blobs they
// remember storing. Deleted content is overwritten with zeros
// (secure_delete), and a checkpoint then empties the write-ahead log,
// which still holds the pages as they were; while another connection
// reads, the log cannot be emptied, and Purged.Warning says so. It
// reads every remaining record's references once, so it takes seconds on
// a large store, during which writers wait.
func (db *DB) Purge(ctx context.Context, p lyumen.Purge) (lyumen.Purged, error) {
	var out lyumen.Purged
	if err := p.Check(time.Now()); err != nil {
		return out, err
	}
	ids := make([][]byte, 0, len(p.IDs))
	for _, s := range p.IDs {
		id, err := parseID(s)
		if err != nil {
			return out, fmt.Errorf("purge: id %q: %w", s, err)
		}
		ids = append(ids, id)
	}
	conn, err := db.db.Conn(ctx)
	if err != nil {
		return out, fmt.Errorf("purge: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA secure_delete = ON`); err != nil {
		return out, fmt.Errorf("purge: %w", err)
	}
	// The connection goes back to the pool; writes on it need not zero free
	// pages too.
	defer conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA secure_delete = FAST`)

	if err := db.purge(ctx, conn, ids, p, &out); err != nil {
		return out, fmt.Errorf("purge: %w", err)
	}
	db.packer.Forget() // other processes forget at their next write, when they see the new epoch
	// The log still holds the pages as they were. A checkpoint waits for
	// no reader: try a few times while gateways read. Each try must not
	// wait out the busy timeout: a TRUNCATE checkpoint that waits holds
	// every writer back, and twenty of them took minutes.
	if _, err := conn.ExecContext(ctx, `PRAGMA busy_timeout = 0`); err != nil {
		return out, fmt.Errorf("purge: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA busy_timeout = 5000`) // dsn's, for the pool
	for try := 0; ; try++ {
		var busy, logFrames, done int
		err := conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &done)
		if err == nil && busy == 0 {
			break
		}
		if try == 20 || ctx.Err() != nil {
			out.Warning = "the records are deleted, but the write-ahead log could not be emptied while other connections read: it holds the deleted pages until SQLite writes over them; run the purge again when the store is idle"
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return out, nil
}

func (db *DB) purge(ctx context.Context, conn *sql.Conn, ids [][]byte, p lyumen.Purge, out *lyumen.Purged) error {
	tx, err := conn.BeginTx(ctx, nil) // _txlock=immediate: the write lock, now
	if err != nil {
		return err
	}
	defer tx.Rollback() // no-op once committed
	// A purged record must not come back when a spool ships it again.
	before := int64(0)
	if !p.Before.IsZero() {
		before = p.Before.UnixMicro()
	}
	if _, err := tx.ExecContext(ctx, `UPDATE store_meta SET blob_epoch = blob_epoch + 1,
		purged_before = max(purged_before, ?)`, before); err != nil {
		return err
	}
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO purged_ids (id) VALUES (?)`, id); err != nil {
			return err
		}
	}
	// Delete the records, noting the blobs they referred to.
	orphans := pack.Orphans{}
	found := map[string]bool{}
	for chunk := range slices.Chunk(ids, hashesPerSelect) {
		q := `DELETE FROM records WHERE id IN (` + params(len(chunk)) + `) RETURNING id, refs`
		err := eachRow(ctx, tx, q, anys(chunk), func(rs *sql.Rows) error {
			var id, refs []byte
			if err := rs.Scan(&id, &refs); err != nil {
				return err
			}
			found[string(id)] = true
			return orphans.Add(refs)
		})
		if err != nil {
			return err
		}
		for _, id := range chunk {
			if !found[string(id)] {
				out.NotFound = append(out.NotFound, formatID(id))
			}
		}
	}
	out.Records = int64(len(found))
	if before != 0 { // by the index, without holding every id
		err := eachRow(ctx, tx, `DELETE FROM records WHERE received_at < ? RETURNING refs`, []any{before}, func(rs *sql.Rows) error {
			var refs []byte
			if err := rs.Scan(&refs); err != nil {
				return err
			}
			out.Records++
			return orphans.Add(refs)
		})
		if err != nil {
			return err
		}
	}
	// Mark: what the remaining records refer to stays.
	if len(orphans) > 0 {
		err := eachRow(ctx, tx, `SELECT refs FROM records`, nil, func(rs *sql.Rows) error {
			var refs []byte
			if err := rs.Scan(&refs); err != nil {
				return err
			}
			if err := orphans.Keep(refs); err != nil {
				return err
			}
			if len(orphans) == 0 {
				return errDone
			}
			return nil
		})
		if err != nil && !errors.Is(err, errDone) {
			return err
		}
	}
	// Sweep.
	for h := range orphans {
		res, err := tx.ExecContext(ctx, `DELETE FROM blobs WHERE hash = ?`, h[:])
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		out.Blobs += n
	}
	return tx.Commit()
}

// errDone ends eachRow early without an error.
var errDone = errors.New("done")

// eachRow calls fn for each row of a query; an error from fn stops it.
func eachRow(ctx context.Context, tx *sql.Tx, q string, args []any, fn func(*sql.Rows) error) error {
	rs, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		if err := fn(rs); err != nil {
			return err
		}
	}
	return rs.Err()
}

// anys returns ids as query arguments.
func anys(ids [][]byte) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

// params returns "?, ?, …" for n parameters.
func params(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
