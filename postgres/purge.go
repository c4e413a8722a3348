package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/pack"
)

// Purge deletes the records p names, and the blobs that only they referred
// to, in one transaction that first advances the blob epoch (see
// store_meta): its UPDATE waits for the writers under way, holds new ones
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
		candidates := map[pack.Hash]bool{}
		found := map[uuid.UUID]bool{}
		collect := func(q string, arg any) error {
			rows, err := tx.Query(ctx, q, arg)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id uuid.UUID
				var refs []byte
				if err := rows.Scan(&id, &refs); err != nil {
					return err
				}
				found[id] = true
				hashes, err := pack.Refs(refs)
				if err != nil {
					return err
				}
				for _, h := range hashes {
					candidates[h] = true
				}
			}
			return rows.Err()
		}
		if len(ids) > 0 {
			if err := collect(`SELECT id, refs FROM record_rows WHERE id = ANY($1)`, ids); err != nil {
				return err
			}
			for _, id := range ids {
				if !found[id] {
					out.NotFound = append(out.NotFound, id.String())
				}
			}
		}
		del := make([]uuid.UUID, 0, len(found))
		for id := range found {
			del = append(del, id)
		}
		tag, err := tx.Exec(ctx, `DELETE FROM record_rows WHERE id = ANY($1)`, del)
		if err != nil {
			return err
		}
		out.Records = tag.RowsAffected()
		if before != nil { // by the partition key, without holding every id
			if err := collect(`SELECT id, refs FROM record_rows WHERE received_at < $1`, *before); err != nil {
				return err
			}
			tag, err := tx.Exec(ctx, `DELETE FROM record_rows WHERE received_at < $1`, *before)
			if err != nil {
				return err
			}
			out.Records += tag.RowsAffected()
		}
		if len(candidates) > 0 { // mark: what the remaining records refer to stays
			rows, err := tx.Query(ctx, `SELECT refs FROM record_rows`)
			if err != nil {
				return err
			}
			for rows.Next() && len(candidates) > 0 {
				var refs []byte
				if err := rows.Scan(&refs); err != nil {
					rows.Close()
					return err
				}
				hashes, err := pack.Refs(refs)
				if err != nil {
					rows.Close()
					return err
				}
				for _, h := range hashes {
					delete(candidates, h)
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		sweep := make([][]byte, 0, len(candidates))
		for h := range candidates {
			sweep = append(sweep, h[:])
		}
		tag, err = tx.Exec(ctx, `DELETE FROM blobs WHERE hash = ANY($1)`, sweep)
		out.Blobs = tag.RowsAffected()
		return err
	})
	if err != nil {
		return out, fmt.Errorf("purge: %w", err)
	}
	db.stored.Reset(-1) // this process's own writes read the new epoch
	if _, err := db.pool.Exec(ctx, `VACUUM record_rows, blobs`); err != nil {
		out.Warning = "deleted, but VACUUM failed: " + err.Error()
	}
	return out, nil
}
