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

// Scan batches: rows per query, and raw blobs kept between batches (the
// turns of one conversation share most of their messages).
const (
	scanBatch     = 500
	scanBlobCache = 8192
)

// Scan calls fn with every record received in [from, to), in order of
// received_at then id; a zero from or to leaves that end open. It reads
// scanBatch rows per query, continuing after the last (received_at, id)
// seen (keyset pagination), so memory stays constant however many records
// there are and no transaction stays open between batches. fn must not
// keep the record after it returns unless it owns it (each call gets a new
// one). An error from fn stops the scan and is returned.
func (db *DB) Scan(ctx context.Context, from, to time.Time, fn func(*lyumen.Record) error) error {
	return db.scan(ctx, from, to, false, fn)
}

// ScanConversationsBackward is Scan newest first, for export: each record
// has its id, received_at, surface, model, usage, user agent, country,
// completeness, the conversation's messages and the response's choices,
// and nothing else (no request body, attempts, tools, error, durations or
// provider). It fetches only the blobs the conversation and response refer
// to, and decodes each blob once while it stays in the scan's cache.
func (db *DB) ScanConversationsBackward(ctx context.Context, from, to time.Time, fn func(*lyumen.Record) error) error {
	return db.scan(ctx, from, to, true, fn)
}

// scan is Scan, or ScanConversationsBackward when lean; then the cache
// holds the blobs decoded.
func (db *DB) scan(ctx context.Context, from, to time.Time, lean bool, fn func(*lyumen.Record) error) error {
	if to.IsZero() {
		to = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	var (
		lastAt time.Time
		lastID uuid.UUID
		first  = true
		cache  = map[pack.Hash][]byte{}
	)
	for {
		// A batch's rows and their blobs are read in one snapshot (see
		// Record); no transaction stays open between batches.
		var (
			recs []*lyumen.Record
			rows []pack.Row
		)
		err := pgx.BeginTxFunc(ctx, db.pool, snapshot, func(tx pgx.Tx) error {
			var err error
			if recs, rows, err = readBatch(ctx, tx, from.UTC(), to.UTC(), lastAt, lastID, first, lean); err != nil || len(recs) == 0 {
				return err
			}
			db.betweenReads()
			return db.fetchBlobs(ctx, tx, rows, lean, cache)
		})
		if err != nil {
			return fmt.Errorf("scan records: %w", err)
		}
		if len(recs) == 0 {
			return nil
		}
		for i, r := range recs {
			blob := func(h pack.Hash) ([]byte, error) {
				if b, ok := cache[h]; ok {
					return b, nil
				}
				return nil, errors.New("missing from blobs")
			}
			var err error
			if lean {
				err = db.packer.UnpackConversation(r, rows[i], blob)
			} else {
				err = db.packer.Unpack(r, rows[i], blob)
			}
			if err != nil {
				return fmt.Errorf("scan records: record %s: %w", r.ID, err)
			}
			if err := fn(r); err != nil {
				return err
			}
		}
		last := recs[len(recs)-1]
		lastAt, lastID, first = last.ReceivedAt, uuid.MustParse(last.ID), false
		if len(recs) < scanBatch {
			return nil
		}
	}
}

// readBatch reads the next rows of [from, to): those after (at, id), or
// before it when lean (newest first), or the first of the range.
func readBatch(ctx context.Context, tx pgx.Tx, from, to, at time.Time, id uuid.UUID, first, lean bool) ([]*lyumen.Record, []pack.Row, error) {
	cols := `id, received_at, duration_us, ttft_us, surface, model, served_model, provider,
		stream, status, error, body, refs, conversation, response, attempts, prompt_tokens, completion_tokens, total_tokens,
		user_agent, country, completeness`
	if lean { // the same positions, the columns not needed left out
		cols = `id, received_at, 0::bigint, 0::bigint, surface, model, '', '',
		false, 0, '', NULL::bytea, refs, conversation, response, NULL::bytea, prompt_tokens, completion_tokens, total_tokens,
		user_agent, country, completeness`
	}
	// After the first batch, the row value replaces the bound it moves
	// from, so that the index scan starts where the last batch ended; the
	// plain comparison beside it lets the planner skip the months passed.
	where, order := `received_at >= $2 AND received_at < $3`, `received_at, id`
	args := []any{scanBatch, from, to}
	switch {
	case !first && lean:
		where, args = `received_at >= $2 AND received_at <= $3 AND (received_at, id) < ($3, $4)`, []any{scanBatch, from, at, id}
	case !first:
		where, args = `received_at >= $2 AND (received_at, id) > ($2, $3) AND received_at < $4`, []any{scanBatch, at, id, to}
	}
	if lean {
		order = `received_at DESC, id DESC`
	}
	rows, err := tx.Query(ctx, `SELECT `+cols+` FROM records WHERE `+where+` ORDER BY `+order+` LIMIT $1`, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var (
		recs  []*lyumen.Record
		packs []pack.Row
	)
	for rows.Next() {
		var (
			r                   = &lyumen.Record{}
			uid                 uuid.UUID
			recvAt              time.Time
			dur, ttft           int64
			surface, complete   string
			row                 pack.Row
			prompt, compl, totl int
		)
		if err := rows.Scan(&uid, &recvAt, &dur, &ttft, &surface, &r.Model, &r.ServedModel, &r.Provider,
			&r.Stream, &r.Status, &r.Error, &row.Body, &row.Refs, &row.Conversation, &row.Response, &row.Attempts, &prompt, &compl, &totl,
			&r.UserAgent, &r.Country, &complete); err != nil {
			return nil, nil, err
		}
		r.ID = uid.String()
		r.ReceivedAt = recvAt.UTC()
		r.Duration, r.TTFT = time.Duration(dur)*time.Microsecond, time.Duration(ttft)*time.Microsecond
		r.Surface, r.Completeness = lyumen.Surface(surface), lyumen.Completeness(complete)
		r.Usage = lyumen.Usage{PromptTokens: prompt, CompletionTokens: compl, TotalTokens: totl}
		recs = append(recs, r)
		packs = append(packs, row)
	}
	return recs, packs, rows.Err()
}

// fetchBlobs loads into cache the blobs the rows refer to that it lacks,
// in one query of tx; raw, or decoded when lean. The cache is emptied
// first when it would grow past scanBlobCache entries, which bounds memory.
func (db *DB) fetchBlobs(ctx context.Context, tx pgx.Tx, rows []pack.Row, lean bool, cache map[pack.Hash][]byte) error {
	var keys [][]byte
	seen := map[pack.Hash]bool{}
	for _, row := range rows {
		refs := pack.Refs
		if lean {
			refs = pack.ConversationRefs
		}
		hashes, err := refs(row.Refs)
		if err != nil {
			return err
		}
		for _, h := range hashes {
			if _, ok := cache[h]; !ok && !seen[h] {
				seen[h] = true
				keys = append(keys, h[:])
			}
		}
	}
	if len(keys) == 0 {
		return nil
	}
	if len(cache) > 0 && len(cache)+len(keys) > scanBlobCache {
		clear(cache)
		return db.fetchBlobs(ctx, tx, rows, lean, cache)
	}
	rs, err := tx.Query(ctx, `SELECT hash, data FROM blobs WHERE hash = ANY($1)`, keys)
	if err != nil {
		return fmt.Errorf("blobs: %w", err)
	}
	defer rs.Close()
	for rs.Next() {
		var h, data []byte
		if err := rs.Scan(&h, &data); err != nil {
			return fmt.Errorf("blobs: %w", err)
		}
		if len(h) != pack.HashSize {
			continue
		}
		if lean {
			if data, err = db.packer.Decode(data); err != nil {
				return fmt.Errorf("blob %x: %w", h, err)
			}
		}
		cache[pack.Hash(h)] = data
	}
	return rs.Err()
}
