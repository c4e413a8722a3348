package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/pack"
)

// Scan batches: rows per query, and raw blobs kept between batches (the
// turns of one conversation share most of their messages).
const (
	scanBatch     = 512
	scanBlobCache = 8192
)

// Scan calls fn with every record received in [from, to), in order of
// received_at then id; a zero from or to leaves that end open. It reads
// scanBatch rows per query in a short read transaction, continuing after
// the last (received_at, id) seen (keyset pagination), so memory stays
// constant however many records there are and no snapshot is held between
// batches. While a batch's records are unpacked on all CPUs and handed
// to fn in order, the next batch is read; each call gets a new record. An
// error from fn stops the scan and is returned as it is.
func (db *DB) Scan(ctx context.Context, from, to time.Time, fn func(*lyumen.Record) error) error {
	return db.scan(ctx, from, to, false, fn)
}

// ScanConversationsBackward is Scan newest first, for export: each record
// has its id, received_at, surface, model, usage, user agent, country,
// completeness, the conversation's messages and the response's choices,
// and nothing else (no request body, attempts, tools, error, durations or
// provider). It fetches only the blobs the conversation and response refer
// to, and decodes each blob once while it stays in the scan's cache, where
// the turns of a conversation find it again.
func (db *DB) ScanConversationsBackward(ctx context.Context, from, to time.Time, fn func(*lyumen.Record) error) error {
	return db.scan(ctx, from, to, true, fn)
}

// scan is Scan, or ScanConversationsBackward when lean.
func (db *DB) scan(ctx context.Context, from, to time.Time, lean bool, fn func(*lyumen.Record) error) error {
	fromUs, toUs := int64(math.MinInt64), int64(math.MaxInt64)
	if !from.IsZero() {
		fromUs = from.UnixMicro()
	}
	if !to.IsZero() {
		toUs = to.UnixMicro()
	}
	// A reader goroutine reads batches (rows and the blobs they need) one
	// ahead, while this one unpacks the last batch on all CPUs and hands
	// its records to fn: SQLite's part and the decoding overlap.
	ctx, cancel := context.WithCancel(ctx)
	batches := make(chan readBatch, 1)
	var reader sync.WaitGroup
	defer func() { // on every return: stop the reader and wait for it
		cancel()
		for range batches {
		}
		reader.Wait()
	}()
	reader.Go(func() {
		defer close(batches)
		var (
			lastAt int64
			lastID []byte // nil: the first batch, the whole range
			cache  = map[pack.Hash][]byte{}
		)
		for {
			var b readBatch
			b.recs, b.rows, b.err = db.scanBatch(ctx, fromUs, toUs, lastAt, lastID, lean, cache)
			if b.err == nil {
				b.blobs = batchBlobs(b.rows, lean, cache) // the batch's own map: the cache changes under the next read
			}
			select {
			case batches <- b:
			case <-ctx.Done():
				return
			}
			if b.err != nil || len(b.rows) < scanBatch {
				return
			}
			last := b.rows[len(b.rows)-1]
			lastAt, lastID = last.receivedAt, last.id
		}
	})
	decoded := map[pack.Hash][]byte{} // lean: blobs decoded, kept between batches like the reader's cache
	for b := range batches {
		if b.err != nil {
			return fmt.Errorf("scan records: %w", b.err)
		}
		recs := b.recs
		if lean {
			if err := decodeBlobs(db.packer, b.blobs, decoded); err != nil {
				return fmt.Errorf("scan records: %w", err)
			}
		}
		err := pack.Parallel(len(recs), func(i int) error {
			var err error
			if lean {
				err = db.packer.UnpackConversation(recs[i], b.rows[i].row, func(h pack.Hash) ([]byte, error) {
					if data, ok := decoded[h]; ok {
						return data, nil
					}
					return nil, errors.New("missing from blobs")
				})
			} else {
				err = db.packer.Unpack(recs[i], b.rows[i].row, func(h pack.Hash) ([]byte, error) {
					if data, ok := b.blobs[h]; ok {
						return data, nil
					}
					return nil, errors.New("missing from blobs")
				})
			}
			if err != nil {
				return fmt.Errorf("scan records: record %s: %w", recs[i].ID, err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, r := range recs {
			if err := fn(r); err != nil {
				return err
			}
		}
	}
	return ctx.Err()
}

// readBatch is one batch read ahead.
type readBatch struct {
	recs  []*lyumen.Record
	rows  []scanRow
	blobs map[pack.Hash][]byte
	err   error
}

// decodeBlobs puts into decoded the blobs of a batch it lacks, decoded on
// all CPUs. Like the reader's cache, it is emptied first when it would grow
// past scanBlobCache entries.
func decodeBlobs(p *pack.Packer, blobs, decoded map[pack.Hash][]byte) error {
	var todo []pack.Hash
	for h := range blobs {
		if _, ok := decoded[h]; !ok {
			todo = append(todo, h)
		}
	}
	if len(decoded) > 0 && len(decoded)+len(todo) > scanBlobCache {
		clear(decoded)
		return decodeBlobs(p, blobs, decoded)
	}
	out := make([][]byte, len(todo))
	err := pack.Parallel(len(todo), func(i int) error {
		var err error
		if out[i], err = p.Decode(blobs[todo[i]]); err != nil {
			return fmt.Errorf("blob %x: %w", todo[i], err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i, h := range todo {
		decoded[h] = out[i]
	}
	return nil
}

// rowRefs lists the blobs a row needs: all, or when lean only those of its
// conversation and response.
func rowRefs(refs []byte, lean bool) ([]pack.Hash, error) {
	if lean {
		return pack.ConversationRefs(refs)
	}
	return pack.Refs(refs)
}

// batchBlobs returns the blobs rows refer to, from cache.
func batchBlobs(rows []scanRow, lean bool, cache map[pack.Hash][]byte) map[pack.Hash][]byte {
	out := map[pack.Hash][]byte{}
	for _, r := range rows {
		hashes, _ := rowRefs(r.row.Refs, lean) // fetchBlobs has parsed them already
		for _, h := range hashes {
			if data, ok := cache[h]; ok {
				out[h] = data
			}
		}
	}
	return out
}

type scanRow struct {
	id         []byte
	receivedAt int64
	row        pack.Row
}

// scanBatch reads the next rows of [from, to): those after (at, id), or
// before it when lean (newest first), or the first of the range when id is
// nil; and puts the blobs they refer to in cache.
func (db *DB) scanBatch(ctx context.Context, from, to, at int64, id []byte, lean bool,
	cache map[pack.Hash][]byte) ([]*lyumen.Record, []scanRow, error) {
	tx, err := db.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, nil, err
	}
	defer tx.Rollback() // read only: nothing to commit

	cols := `id, received_at, duration_us, ttft_us, surface, model, served_model, provider,
		stream, status, error, body, refs, conversation, response, attempts,
		prompt_tokens, completion_tokens, total_tokens, user_agent, country, completeness`
	// After the first batch, the row value replaces the bound it moves
	// from: SQLite takes one lower and one upper bound for the index's
	// range, and with from still there it would read the range from the
	// start every batch.
	where, order := `received_at >= ? AND received_at < ?`, `received_at, id`
	args := []any{from, to}
	if id != nil {
		where, args = `(received_at, id) > (?, ?) AND received_at < ?`, []any{at, id, to}
	}
	if lean {
		cols = `id, received_at, surface, model, refs, conversation, response,
		prompt_tokens, completion_tokens, total_tokens, user_agent, country, completeness`
		order = `received_at DESC, id DESC`
		if id != nil {
			where, args = `received_at >= ? AND (received_at, id) < (?, ?)`, []any{from, at, id}
		}
	}
	rs, err := tx.QueryContext(ctx, `SELECT `+cols+` FROM records WHERE `+where+` ORDER BY `+order+` LIMIT ?`, append(args, scanBatch)...)
	if err != nil {
		return nil, nil, err
	}
	var (
		recs []*lyumen.Record
		rows []scanRow
	)
	for rs.Next() {
		var (
			r         = &lyumen.Record{}
			sr        scanRow
			dur, ttft int64
		)
		dest := []any{&sr.id, &sr.receivedAt, &dur, &ttft, &r.Surface, &r.Model, &r.ServedModel, &r.Provider,
			&r.Stream, &r.Status, &r.Error, &sr.row.Body, &sr.row.Refs, &sr.row.Conversation, &sr.row.Response, &sr.row.Attempts,
			&r.Usage.PromptTokens, &r.Usage.CompletionTokens, &r.Usage.TotalTokens,
			&r.UserAgent, &r.Country, &r.Completeness}
		if lean {
			dest = []any{&sr.id, &sr.receivedAt, &r.Surface, &r.Model, &sr.row.Refs, &sr.row.Conversation, &sr.row.Response,
				&r.Usage.PromptTokens, &r.Usage.CompletionTokens, &r.Usage.TotalTokens,
				&r.UserAgent, &r.Country, &r.Completeness}
		}
		if err := rs.Scan(dest...); err != nil {
			rs.Close()
			return nil, nil, err
		}
		r.ID = formatID(sr.id)
		r.ReceivedAt = time.UnixMicro(sr.receivedAt).UTC()
		r.Duration = time.Duration(dur) * time.Microsecond
		r.TTFT = time.Duration(ttft) * time.Microsecond
		recs = append(recs, r)
		rows = append(rows, sr)
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return nil, nil, err
	}
	if err := fetchBlobs(ctx, tx, rows, lean, cache); err != nil {
		return nil, nil, err
	}
	return recs, rows, nil
}

// fetchBlobs loads into cache the blobs the rows refer to that it lacks.
// The cache is emptied first when it would grow past scanBlobCache
// entries, which bounds memory.
func fetchBlobs(ctx context.Context, tx *sql.Tx, rows []scanRow, lean bool, cache map[pack.Hash][]byte) error {
	var args []any
	seen := map[pack.Hash]bool{}
	for _, r := range rows {
		hashes, err := rowRefs(r.row.Refs, lean)
		if err != nil {
			return err
		}
		for _, h := range hashes {
			if _, ok := cache[h]; !ok && !seen[h] {
				seen[h] = true
				args = append(args, h[:])
			}
		}
	}
	if len(cache) > 0 && len(cache)+len(args) > scanBlobCache {
		clear(cache)
		return fetchBlobs(ctx, tx, rows, lean, cache)
	}
	for len(args) > 0 {
		n := min(hashesPerSelect, len(args))
		q := `SELECT hash, data FROM blobs WHERE hash IN (` + params(n) + `)`
		if err := readBlobsInto(ctx, tx, cache, q, args[:n]); err != nil {
			return err
		}
		args = args[n:]
	}
	return nil
}
