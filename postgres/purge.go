package postgres

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/pack"
)

// How long a purge waits for the store's lock at a time, and in all.
const (
	purgeLockWait = time.Second
	purgePatience = 2 * time.Minute
)

// Purge deletes the records p names, and the blobs that only they referred
// to, in one transaction that first advances the blob epoch (see
// store_meta): its lock on that table waits for the writers under way, holds new ones
// back until it commits, and makes every gateway forget the blobs it
// remembers storing. It reads every remaining record's references once.
// Then VACUUM makes the space reusable; the deleted bytes stay in the
// tables' files until PostgreSQL writes over them (VACUUM FULL rewrites
// the files, under an exclusive lock: the operator's call). A user agent
// that only purged records had is blanked in labels (its row stays, with
// an empty value and a random hash, so that no gateway's cached id of it
// goes dangling; the new epoch makes writers forget their caches).
func (db *DB) Purge(ctx context.Context, p lyumen.Purge) (lyumen.Purged, error) {
	var out lyumen.Purged
	if err := p.Check(time.Now()); err != nil {
		return out, err
	}
	ids := make([]uuid.UUID, 0, len(p.IDs))
	for _, s := range p.IDs {
		id, err := uuid.Parse(s)
		if err != nil {
			return out, fmt.Errorf("purge: id %q: %w", s, err)
		}
		ids = append(ids, id)
	}
	purge := func(tx pgx.Tx) error {
		out = lyumen.Purged{}
		// EXCLUSIVE conflicts with the writers' FOR SHARE: those under way
		// finish first, new ones queue behind the purge (an UPDATE alone
		// would wait for as long as writers keep overlapping). The wait is
		// short, and tried again: a writer stuck in its transaction (its
		// connection gone silent) would hold the purge, and every gateway
		// queued behind it, until its session ended.
		var was string
		if err := tx.QueryRow(ctx, `SELECT current_setting('lock_timeout'), set_config('lock_timeout', $1, true)`,
			fmt.Sprint(purgeLockWait.Milliseconds())).Scan(&was, new(string)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `LOCK TABLE store_meta IN EXCLUSIVE MODE`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT set_config('lock_timeout', $1, true)`, was); err != nil {
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
		agents := map[int32]bool{} // the purged records' user agents' labels
		var (
			id    uuid.UUID
			refs  []byte
			agent int32
		)
		rows, err := tx.Query(ctx, `DELETE FROM record_rows WHERE id = ANY($1) RETURNING id, refs, user_agent`, ids)
		if err != nil {
			return err
		}
		if _, err := pgx.ForEachRow(rows, []any{&id, &refs, &agent}, func() error {
			found[id], agents[agent] = true, true
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
			rows, err := tx.Query(ctx, `DELETE FROM record_rows WHERE received_at < $1 RETURNING refs, user_agent`, *before)
			if err != nil {
				return err
			}
			tag, err := pgx.ForEachRow(rows, []any{&refs, &agent}, func() error {
				agents[agent] = true
				return orphans.Add(refs)
			})
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
		if err != nil {
			return err
		}
		out.Blobs = tag.RowsAffected()
		return blankAgents(ctx, tx, slices.Collect(maps.Keys(agents)))
	}
	start := time.Now()
	err := pgx.BeginFunc(ctx, db.pool, purge)
	for isLockTimeout(err) && time.Since(start) < purgePatience {
		select {
		case <-ctx.Done():
			return lyumen.Purged{}, fmt.Errorf("purge: %w", ctx.Err())
		case <-time.After(purgeLockWait): // let the writers queued behind the purge through
		}
		err = pgx.BeginFunc(ctx, db.pool, purge)
	}
	if isLockTimeout(err) {
		return lyumen.Purged{}, fmt.Errorf("purge: a writer held the store for %v (a gateway's session stuck in a transaction ends after a minute); try again: %w", purgePatience, err)
	}
	if err != nil { // rolled back: nothing was purged
		return lyumen.Purged{}, fmt.Errorf("purge: %w", err)
	}
	db.stored.Reset(-1) // this process's own writes read the new epoch
	db.packer.Forget()
	db.labels.forget()
	if _, err := db.pool.Exec(ctx, `VACUUM record_rows, blobs`); err != nil {
		out.Warning = "deleted, but VACUUM failed: " + err.Error()
	}
	return out, nil
}

// blankAgents blanks the labels of candidates, user agents of purged
// records, that no remaining record refers to in any of its label columns
// (a label is shared by value: a user agent may also be a model's name).
func blankAgents(ctx context.Context, tx pgx.Tx, candidates []int32) error {
	if len(candidates) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `UPDATE labels SET value = '', hash = decode(md5(random()::text || clock_timestamp()::text || id::text), 'hex')
		WHERE id = ANY($1) AND id NOT IN (
			SELECT DISTINCT l FROM record_rows,
				unnest(ARRAY[surface, model, served_model, provider, user_agent, country, completeness]) AS l
			WHERE l = ANY($1))`, candidates)
	if err != nil {
		return fmt.Errorf("blank user agents: %w", err)
	}
	return nil
}

// errDone ends a walk over rows early without an error.
var errDone = errors.New("done")
