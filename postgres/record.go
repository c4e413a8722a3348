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

var recordColumns = []string{
	"id", "received_at", "duration_us", "ttft_us", "surface", "model", "served_model", "provider",
	"stream", "status", "error", "body", "refs", "conversation", "response", "attempts",
	"prompt_tokens", "completion_tokens", "total_tokens", "user_agent", "country", "completeness",
}

// WriteRecords stores a batch in one transaction: COPY into per-connection
// staging tables, then INSERT … ON CONFLICT DO NOTHING, so a record stored
// before (a batch retried after an unknown outcome) is stored once.
func (db *DB) WriteRecords(ctx context.Context, recs []*lyumen.Record) error {
	if len(recs) == 0 {
		return nil
	}
	rows := make([][]any, 0, len(recs))
	blobs := make(map[pack.Hash][]byte)
	months := map[int]time.Time{}
	seen := make(map[string]bool, len(recs))
	for _, r := range recs {
		if r == nil {
			return errors.New("write records: nil record")
		}
		if seen[r.ID] {
			continue // twice in one batch: COPY would not mind, the key would
		}
		seen[r.ID] = true
		id, err := uuid.Parse(r.ID)
		if err != nil {
			return fmt.Errorf("write records: id %q: %w", r.ID, err)
		}
		row, bs, err := db.packer.Pack(r)
		if err != nil {
			return fmt.Errorf("write records: %w", err)
		}
		for _, b := range bs {
			blobs[b.Hash] = b.Data
		}
		at := r.ReceivedAt.UTC()
		months[monthKey(at)] = at
		rows = append(rows, []any{
			id, at, r.Duration.Microseconds(), r.TTFT.Microseconds(), string(r.Surface), r.Model, r.ServedModel, r.Provider,
			r.Stream, r.Status, r.Error, row.Body, row.Refs, row.Conversation, row.Response, row.Attempts,
			r.Usage.PromptTokens, r.Usage.CompletionTokens, r.Usage.TotalTokens, r.UserAgent, r.Country, string(r.Completeness),
		})
	}
	if err := db.ensurePartitions(ctx, months); err != nil {
		return err
	}
	blobRows := make([][]any, 0, len(blobs))
	for h, data := range blobs {
		blobRows = append(blobRows, []any{h[:], data})
	}
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if len(blobRows) > 0 {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"blobs_in"}, []string{"hash", "data"}, pgx.CopyFromRows(blobRows)); err != nil {
				return fmt.Errorf("copy blobs: %w", err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO blobs SELECT hash, data FROM blobs_in ON CONFLICT DO NOTHING`); err != nil {
				return fmt.Errorf("insert blobs: %w", err)
			}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"records_in"}, recordColumns, pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("copy records: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO records SELECT * FROM records_in ON CONFLICT DO NOTHING`); err != nil {
			return fmt.Errorf("insert records: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write records: %w", err)
	}
	return nil
}

// Record reads one record back, whole.
func (db *DB) Record(ctx context.Context, id string) (*lyumen.Record, error) {
	uid, err := uuid.Parse(id)
	if err != nil {
		return nil, &lyumen.Error{Kind: lyumen.KindNotFound, Message: fmt.Sprintf("no record %q", id)}
	}
	var (
		r                   = &lyumen.Record{ID: id}
		at                  time.Time
		dur, ttft           int64
		surface, complete   string
		row                 pack.Row
		prompt, compl, totl int
	)
	err = db.pool.QueryRow(ctx, `SELECT received_at, duration_us, ttft_us, surface, model, served_model, provider,
		stream, status, error, body, refs, conversation, response, attempts, prompt_tokens, completion_tokens, total_tokens,
		user_agent, country, completeness FROM records WHERE id = $1`, uid).Scan(
		&at, &dur, &ttft, &surface, &r.Model, &r.ServedModel, &r.Provider,
		&r.Stream, &r.Status, &r.Error, &row.Body, &row.Refs, &row.Conversation, &row.Response, &row.Attempts, &prompt, &compl, &totl,
		&r.UserAgent, &r.Country, &complete)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, &lyumen.Error{Kind: lyumen.KindNotFound, Message: fmt.Sprintf("no record %q", id)}
	}
	if err != nil {
		return nil, fmt.Errorf("read record %s: %w", id, err)
	}
	r.ReceivedAt = at.UTC()
	r.Duration, r.TTFT = time.Duration(dur)*time.Microsecond, time.Duration(ttft)*time.Microsecond
	r.Surface, r.Completeness = lyumen.Surface(surface), lyumen.Completeness(complete)
	r.Usage = lyumen.Usage{PromptTokens: prompt, CompletionTokens: compl, TotalTokens: totl}

	hashes, err := pack.Refs(row.Refs)
	if err != nil {
		return nil, fmt.Errorf("read record %s: %w", id, err)
	}
	blobs := make(map[pack.Hash][]byte, len(hashes))
	if len(hashes) > 0 {
		keys := make([][]byte, len(hashes))
		for i := range hashes {
			keys[i] = hashes[i][:]
		}
		rows, err := db.pool.Query(ctx, `SELECT hash, data FROM blobs WHERE hash = ANY($1)`, keys)
		if err != nil {
			return nil, fmt.Errorf("read record %s: blobs: %w", id, err)
		}
		for rows.Next() {
			var h, data []byte
			if err := rows.Scan(&h, &data); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read record %s: blobs: %w", id, err)
			}
			blobs[pack.Hash(h)] = data
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read record %s: blobs: %w", id, err)
		}
	}
	err = db.packer.Unpack(r, row, func(h pack.Hash) ([]byte, error) {
		if b, ok := blobs[h]; ok {
			return b, nil
		}
		return nil, errors.New("missing from blobs")
	})
	if err != nil {
		return nil, fmt.Errorf("read record %s: %w", id, err)
	}
	return r, nil
}

// Count is the number of records stored.
func (db *DB) Count(ctx context.Context) (int64, error) {
	var n int64
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM records`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count records: %w", err)
	}
	return n, nil
}
