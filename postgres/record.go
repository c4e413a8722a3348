package postgres

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/pack"
)

// recordColumns are record_rows's, in the order WriteRecords copies them.
var recordColumns = []string{
	"id", "received_at", "duration_us", "ttft_us", "status", "prompt_tokens", "completion_tokens", "total_tokens",
	"surface", "model", "served_model", "provider", "user_agent", "country", "completeness", "stream", "error",
	"body", "refs", "conversation", "response", "attempts",
}

// WriteRecords stores a batch in one transaction: all or none. A record
// stored before (a batch retried after an unknown outcome) is stored once:
// the first version written wins.
//
// Records are laid out as internal/pack says, on every CPU. Only pieces
// that no recent batch stored are encoded and sent: in a conversation,
// that is the last question and answer, not the history resent with them.
// Blobs go in with one INSERT … ON CONFLICT DO NOTHING, records with COPY
// (see insertRecords).
func (db *DB) WriteRecords(ctx context.Context, recs []*lyumen.Record) error {
	if len(recs) == 0 {
		return nil
	}
	seen := make(map[string]bool, len(recs))
	uniq := make([]*lyumen.Record, 0, len(recs))
	for _, r := range recs {
		if r == nil {
			return fmt.Errorf("write records: nil record: %w", lyumen.ErrRejected)
		}
		if !seen[r.ID] { // twice in one batch: stored once
			seen[r.ID] = true
			uniq = append(uniq, r)
		}
	}
	ids := make([]uuid.UUID, len(uniq))
	for i, r := range uniq {
		id, err := uuid.Parse(r.ID)
		if err != nil {
			return fmt.Errorf("write records: id %q: %w: %w", r.ID, lyumen.ErrRejected, err)
		}
		// integer columns: pgx refuses a larger value by cancelling the
		// COPY, which reads as any cancellation (SQLSTATE 57014), not as
		// this record's fault. Token counts are the upstream's word.
		if !fitsInt32(r.Status, r.Usage.PromptTokens, r.Usage.CompletionTokens, r.Usage.TotalTokens) {
			return fmt.Errorf("write records: record %s: status or token count out of range: %w", r.ID, lyumen.ErrRejected)
		}
		ids[i] = id
	}
	cutAt := db.stored.Epoch() // what the cut below skips was stored as of this epoch
	b, err := db.packer.CutBatch(ctx, uniq, db.stored)
	if err != nil { // a record that cannot be laid out never will be
		return fmt.Errorf("write records: %w: %w", lyumen.ErrRejected, err)
	}
	// In one order for every gateway, so that two inserting the same new
	// blobs lock them in the same order and neither waits for the other in
	// a cycle. Not in the index's order (the hash's leading bytes): in
	// batches sorted that way, the index came out 8% larger.
	slices.SortFunc(b.Blobs, func(x, y pack.Blob) int {
		return cmp.Or(bytes.Compare(x.Hash[8:], y.Hash[8:]), bytes.Compare(x.Hash[:8], y.Hash[:8]))
	})
	hashes, data := make([][]byte, len(b.Blobs)), make([][]byte, len(b.Blobs))
	for i := range b.Blobs {
		hashes[i], data[i] = b.Blobs[i].Hash[:], b.Blobs[i].Data
	}

	labels := make(map[string]int32)
	months := map[int]time.Time{}
	texts := make([]recordText, len(uniq))
	for i, r := range uniq {
		texts[i] = recordText{
			surface: text(string(r.Surface)), model: text(r.Model), servedModel: text(r.ServedModel), provider: text(r.Provider),
			userAgent: text(r.UserAgent), country: text(r.Country), completeness: text(string(r.Completeness)), err: text(r.Error),
		}
		t := &texts[i]
		for _, v := range [...]string{t.surface, t.model, t.servedModel, t.provider, t.userAgent, t.country, t.completeness} {
			labels[v] = 0
		}
		at := r.ReceivedAt.UTC()
		months[monthKey(at)] = at
	}
	if err := db.labelIDs(ctx, labels); err != nil {
		return fmt.Errorf("write records: %w", refused(err))
	}
	if err := db.ensurePartitions(ctx, months); err != nil {
		return fmt.Errorf("write records: %w", err)
	}
	rows := make([][]any, len(uniq))
	for i, r := range uniq {
		row, t := b.Rows[i], &texts[i] // nil slices are NULL
		rows[i] = []any{
			ids[i], r.ReceivedAt.UTC(), r.Duration.Microseconds(), r.TTFT.Microseconds(),
			r.Status, r.Usage.PromptTokens, r.Usage.CompletionTokens, r.Usage.TotalTokens,
			labels[t.surface], labels[t.model], labels[t.servedModel], labels[t.provider],
			labels[t.userAgent], labels[t.country], labels[t.completeness], r.Stream, t.err,
			row.Body, row.Refs, row.Conversation, row.Response, row.Attempts,
		}
	}

	var (
		epoch int64
		keep  []*lyumen.Record // when some of uniq were purged
	)
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		// FOR SHARE: a purge's lock on the table waits for this
		// transaction, and a purge under way holds this one back.
		var purgedBefore *time.Time
		if err := tx.QueryRow(ctx, `SELECT blob_epoch, purged_before FROM store_meta FOR SHARE`).Scan(&epoch, &purgedBefore); err != nil {
			return fmt.Errorf("blob epoch: %w", err)
		}
		if epoch != cutAt {
			return errEpoch
		}
		if epoch > 0 { // some purge ran: a record it deleted must not come back
			var err error
			if keep, err = notPurged(ctx, tx, uniq, ids, purgedBefore); err != nil {
				return err
			}
			if len(keep) < len(uniq) {
				return errPurged
			}
		}
		if len(hashes) > 0 {
			_, err := tx.Exec(ctx, `INSERT INTO blobs (hash, data) SELECT * FROM unnest($1::bytea[], $2::bytea[])
				ON CONFLICT DO NOTHING`, hashes, data)
			if err != nil {
				return fmt.Errorf("insert blobs: %w", err)
			}
		}
		return insertRecords(ctx, tx, rows)
	})
	switch {
	case errors.Is(err, errEpoch):
		// A purge may have deleted blobs the batch was cut without:
		// forget them all and cut it again. Forget what the purge
		// deleted that the packer remembers, too.
		db.stored.Reset(epoch)
		db.packer.Forget()
		db.labels.forget() // a purge may have blanked some
		return db.WriteRecords(ctx, recs)
	case errors.Is(err, errPurged):
		db.packer.Forget() // the cut remembered the purged records' skeletons
		return db.WriteRecords(ctx, keep)
	}
	if err != nil {
		return fmt.Errorf("write records: %w", refused(err))
	}
	db.stored.AddAt(epoch, b.Blobs)
	return nil
}

// errEpoch stops a write whose batch was cut before the last purge;
// errPurged one that holds purged records.
var (
	errEpoch  = errors.New("blob epoch changed")
	errPurged = errors.New("purged records in the batch")
)

// notPurged returns the records of recs that no purge deleted: received at
// or after purgedBefore (nil: none by time), and with an id not in
// purged_ids.
func notPurged(ctx context.Context, tx pgx.Tx, recs []*lyumen.Record, ids []uuid.UUID, purgedBefore *time.Time) ([]*lyumen.Record, error) {
	rows, err := tx.Query(ctx, `SELECT id FROM purged_ids WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("purged ids: %w", err)
	}
	purged, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, fmt.Errorf("purged ids: %w", err)
	}
	keep := make([]*lyumen.Record, 0, len(recs))
	for i, r := range recs {
		if !slices.Contains(purged, ids[i]) && (purgedBefore == nil || !r.ReceivedAt.Before(*purgedBefore)) {
			keep = append(keep, r)
		}
	}
	return keep, nil
}

func fitsInt32(vs ...int) bool {
	for _, v := range vs {
		if v != int(int32(v)) {
			return false
		}
	}
	return true
}

// recordText is a record's text columns as PostgreSQL will take them.
type recordText struct {
	surface, model, servedModel, provider, userAgent, country, completeness, err string
}

// text is s as a PostgreSQL text value, which must be UTF-8 without NUL:
// an upstream's error message or model name may hold "\u0000", and one
// value refused would refuse its whole batch, at every retry. Each NUL and
// each run of bytes that is not UTF-8 becomes U+FFFD.
func text(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// insertRecords copies rows into record_rows. COPY cannot skip a record
// stored before; when one is, the rows go through a per-connection staging
// table and INSERT … ON CONFLICT DO NOTHING instead. Batches are rarely
// retried, and COPY straight in writes each row once.
func insertRecords(ctx context.Context, tx pgx.Tx, rows [][]any) error {
	sp, err := tx.Begin(ctx) // a savepoint
	if err != nil {
		return err
	}
	_, err = sp.CopyFrom(ctx, pgx.Identifier{"record_rows"}, recordColumns, pgx.CopyFromRows(rows))
	if err == nil {
		return sp.Commit(ctx)
	}
	if !isUniqueViolation(err) {
		return fmt.Errorf("copy records: %w", err)
	}
	if err := sp.Rollback(ctx); err != nil {
		return err
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"record_rows_in"}, recordColumns, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("copy records: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO record_rows SELECT * FROM record_rows_in ON CONFLICT DO NOTHING`); err != nil {
		return fmt.Errorf("insert records: %w", err)
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
	// The row and its blobs are read in one snapshot: a purge that commits
	// in between must not take the blobs from under the row.
	blobs := map[pack.Hash][]byte{}
	err = pgx.BeginTxFunc(ctx, db.pool, snapshot, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT received_at, duration_us, ttft_us, surface, model, served_model, provider,
		stream, status, error, body, refs, conversation, response, attempts, prompt_tokens, completion_tokens, total_tokens,
		user_agent, country, completeness FROM records WHERE id = $1`, uid).Scan(
			&at, &dur, &ttft, &surface, &r.Model, &r.ServedModel, &r.Provider,
			&r.Stream, &r.Status, &r.Error, &row.Body, &row.Refs, &row.Conversation, &row.Response, &row.Attempts, &prompt, &compl, &totl,
			&r.UserAgent, &r.Country, &complete)
		if err != nil {
			return err
		}
		db.betweenReads()
		return db.fetchBlobs(ctx, tx, []pack.Row{row}, false, blobs)
	})
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
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM record_rows`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count records: %w", err)
	}
	return n, nil
}
