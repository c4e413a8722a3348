package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/pack"
)

// Purge deletes the records p names, and the blobs that only they referred
// to, in one transaction that first advances the blob epoch (see
// store_meta): its lock on that table waits for the writers under way, holds new ones
// back until it commits, and makes every gateway forget the blobs it
// remembers storing. It reads every remaining record's references once.
// Then VACUUM makes the space reusable; the deleted bytes stay in the
// tables' files until PostgreSQL writes over them (VACUUM FULL rewrites
// the files, under an exclusive lock: the operator's call). The labels a
// record pointed to (user agents, models) stay, even one only it had:
// deleting them would need every gateway's label cache to follow.
func (db *DB) Purge(ctx context.Context, p lyumen.Purge) (lyumen.Purged, error) {
	var out lyumen.Purged
	ids := make([]uuid.UUID, 0, len(p.IDs))
	for _, s := range p.IDs {
		id, err := uuid.Parse(s)
		if err != nil {
			return out, fmt.Errorf("purge: id %q: %w", s, err)
		}
		ids = append(ids, id)
	}
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		// EXCLUSIVE conflicts with the writers' FOR SHARE: those under way
		// finish first, new ones queue behind the purge (an UPDATE alone
		// would wait for as long as writers keep overlapping).
		if _, err := tx.Exec(ctx, `LOCK TABLE store_meta IN EXCLUSIVE MODE`); err != nil {
			return err
		}
		// A purged record must not come back when a spool ships it again.
		var before *time.Time
		if !p.Before.IsZero() {
			before = &p.Before
		}
		if _, err := tx.Exec(ctx, `UPDATE store_meta SET blob_epoch = blob_epoch + 1,
			purged_before = greatest(purged_before, $1)`, before); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO purged_ids (id) SELECT unnest($1::uuid[]) ON CONFLICT DO NOTHING`, ids); err != nil {
			return err
		}
		// Delete the records, noting the blobs they referred to.
		orphans := pack.Orphans{}
		found := map[uuid.UUID]bool{}
		var (
			id   uuid.UUID
			refs []byte
		)
		rows, err := tx.Query(ctx, `DELETE FROM record_rows WHERE id = ANY($1) RETURNING id, refs`, ids)
		if err != nil {
			return err
		}
		if _, err := pgx.ForEachRow(rows, []any{&id, &refs}, func() error {
			found[id] = true
			return orphans.Add(refs)
		}); err != nil {
			return err
		}
		for _, id := range ids {
			if !found[id] {
				out.NotFound = append(out.NotFound, id.String())
			}
		}
		out.Records = int64(len(found))
		if before != nil { // by the partition key, without holding every id
			rows, err := tx.Query(ctx, `DELETE FROM record_rows WHERE received_at < $1 RETURNING refs`, *before)
			if err != nil {
				return err
			}
			tag, err := pgx.ForEachRow(rows, []any{&refs}, func() error { return orphans.Add(refs) })
			if err != nil {
				return err
			}
			out.Records += tag.RowsAffected()
		}
		if len(orphans) > 0 { // mark: what the remaining records refer to stays
			rows, err := tx.Query(ctx, `SELECT refs FROM record_rows`)
			if err != nil {
				return err
			}
			_, err = pgx.ForEachRow(rows, []any{&refs}, func() error {
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
		sweep := make([][]byte, 0, len(orphans))
		for h := range orphans {
			sweep = append(sweep, h[:])
		}
		tag, err := tx.Exec(ctx, `DELETE FROM blobs WHERE hash = ANY($1)`, sweep)
		out.Blobs = tag.RowsAffected()
		return err
	})
	if err != nil {
		return out, fmt.Errorf("purge: %w", err)
	}
	db.stored.Reset(-1) // this process's own writes read the new epoch
	db.packer.Forget()
	if _, err := db.pool.Exec(ctx, `VACUUM record_rows, blobs`); err != nil {
		out.Warning = "deleted, but VACUUM failed: " + err.Error()
	}
	return out, nil
}

// errDone ends a walk over rows early without an error.
var errDone = errors.New("done")
