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
	return db.ScanSelected(ctx, from, to, nil, fn)
}

// ScanSelected is Scan for the records keep accepts, judged by id before
// their blobs are read and they are unpacked; a nil keep accepts all.
func (db *DB) ScanSelected(ctx context.Context, from, to time.Time, keep func(id string) bool, fn func(*lyumen.Record) error) error {
	return db.scan(ctx, from, to, keep, false, fn)
}

// ScanConversations is ScanSelected for export: each record has its id,
// received_at, surface, model, usage, user agent, country, completeness,
// the conversation's messages and the response's choices, and nothing else
// (no request body, attempts, tools, error, durations or provider). It
// fetches only the blobs the conversation and response refer to, and
// decodes each blob once while it stays in the scan's cache.
func (db *DB) ScanConversations(ctx context.Context, from, to time.Time, keep func(id string) bool, fn func(*lyumen.Record) error) error {
	return db.scan(ctx, from, to, keep, true, fn)
}

// scan is ScanSelected, or ScanConversations when lean; then the cache
// holds the blobs decoded.
func (db *DB) scan(ctx context.Context, from, to time.Time, keep func(id string) bool, lean bool, fn func(*lyumen.Record) error) error {
	if to.IsZero() {
		to = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	lastAt, lastID, first := from.UTC(), uuid.UUID{}, true
	cache := map[pack.Hash][]byte{}
	for {
		all, allRows, err := db.scanBatch(ctx, lastAt, lastID, first, to.UTC(), lean)
		if err != nil {
			return fmt.Errorf("scan records: %w", err)
		}
		if len(all) == 0 {
			return nil
		}
		recs, rows := all, allRows
		if keep != nil {
			recs, rows = nil, nil
			for i, r := range all {
				if keep(r.ID) {
					recs, rows = append(recs, r), append(rows, allRows[i])
				}
			}
		}
		if err := db.fetchBlobs(ctx, rows, lean, cache); err != nil {
			return fmt.Errorf("scan records: %w", err)
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
		last := all[len(all)-1]
		lastAt, lastID, first = last.ReceivedAt, uuid.MustParse(last.ID), false
		if len(all) < scanBatch {
			return nil
		}
	}
}

// scanBatch reads the next rows after (at, id), or from at inclusive for
// the first batch.
func (db *DB) scanBatch(ctx context.Context, at time.Time, id uuid.UUID, first bool, to time.Time, lean bool) ([]*lyumen.Record, []pack.Row, error) {
	cols := `id, received_at, duration_us, ttft_us, surface, model, served_model, provider,
		stream, status, error, body, refs, conversation, response, attempts, prompt_tokens, completion_tokens, total_tokens,
		user_agent, country, completeness`
	if lean { // the same positions, the columns not needed left out
		cols = `id, received_at, 0::bigint, 0::bigint, surface, model, '', '',
		false, 0, '', NULL::bytea, refs, conversation, response, NULL::bytea, prompt_tokens, completion_tokens, total_tokens,
		user_agent, country, completeness`
	}
	var (
		rows pgx.Rows
		err  error
	)
	if first {
		rows, err = db.pool.Query(ctx, `SELECT `+cols+` FROM records
			WHERE received_at >= $1 AND received_at < $2 ORDER BY received_at, id LIMIT $3`, at, to, scanBatch)
	} else {
		rows, err = db.pool.Query(ctx, `SELECT `+cols+` FROM records
			WHERE (received_at, id) > ($1, $2) AND received_at < $3 ORDER BY received_at, id LIMIT $4`, at, id, to, scanBatch)
	}
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
// in one query. The cache is emptied first when it would grow past
// scanBlobCache entries, which bounds memory.
func (db *DB) fetchBlobs(ctx context.Context, rows []pack.Row, lean bool, cache map[pack.Hash][]byte) error {
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
		return db.fetchBlobs(ctx, rows, lean, cache)
	}
	rs, err := db.pool.Query(ctx, `SELECT hash, data FROM blobs WHERE hash = ANY($1)`, keys)
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
