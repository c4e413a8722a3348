package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"time"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/pack"
)

// Rows per INSERT statement (see inserter), and hashes per SELECT. SQLite
// allows 32766 parameters per statement.
const (
	recordsPerInsert = 32  // × 22 columns
	blobsPerInsert   = 128 // × 2
	hashesPerSelect  = 256
)

const recordColumns = `id, received_at, duration_us, ttft_us, surface, model, served_model, provider,
	stream, status, error, body, refs, conversation, response, attempts,
	prompt_tokens, completion_tokens, total_tokens, user_agent, country, completeness`

const nRecordColumns = 22

// insertRecords returns an INSERT of n records. A record whose id is
// stored already, or comes earlier in the same statement, is skipped.
//
// OR IGNORE rather than ON CONFLICT (id) DO NOTHING: a statement of many
// rows that may abort half-way makes SQLite keep a statement journal, a
// copy of every page the statement changes (a third of the inserts' CPU),
// to undo only that statement. WriteRecords rolls back the whole
// transaction on any error, so the journal buys nothing. OR IGNORE would
// also skip a row with a NULL in a NOT NULL column, but every such column
// is bound from a Go string, integer or bool, which cannot be NULL
// (storetest's "zero values" record would vanish otherwise); a value that
// STRICT cannot store in its column's type still fails the statement.
func insertRecords(n int) string {
	return `INSERT OR IGNORE INTO records (` + recordColumns + `) VALUES ` +
		placeholders(n, nRecordColumns)
}

func insertBlobs(n int) string {
	return `INSERT OR IGNORE INTO blobs (hash, data) VALUES ` + placeholders(n, 2)
}

// placeholders returns "(?, ?), (?, ?)" for rows rows of cols columns.
func placeholders(rows, cols int) string {
	row := "(" + params(cols) + ")"
	return strings.TrimSuffix(strings.Repeat(row+", ", rows), ", ")
}

// WriteRecords stores recs in one transaction: all or none. Record ids
// must be UUIDs, as for PostgreSQL. A record whose ID is already stored is
// skipped, so a batch replayed after a crash (or a record given twice) is
// stored once; the first version written wins.
//
// Records are stored in the layout of internal/pack: the content of the
// messages and tools of a request and its canonical conversation, and the
// answer of a response, go to blobs, once each however many records repeat
// them. Laying records out is most of the work: it runs on every CPU, and
// before the write lock is taken, so other writers wait only for inserts.
// A piece that a recent batch stored (the history a client resends) is not
// compressed again.
func (db *DB) WriteRecords(ctx context.Context, recs []*lyumen.Record) error {
	if len(recs) == 0 {
		return nil
	}
	ids := make([][]byte, len(recs))
	for i, r := range recs {
		if r == nil {
			return fmt.Errorf("write records: record %d: nil: %w", i, lyumen.ErrRejected)
		}
		id, err := parseID(r.ID)
		if err != nil {
			return fmt.Errorf("write records: id %q: %w: %w", r.ID, lyumen.ErrRejected, err)
		}
		ids[i] = id
	}
	cutAt := db.stored.Epoch() // what the cut below skips was stored as of this epoch
	b, err := db.packer.CutBatch(ctx, recs, db.stored)
	if err != nil { // a record that cannot be laid out never will be
		return fmt.Errorf("write records: %w: %w", lyumen.ErrRejected, err) // nothing written: a batch is all or none
	}
	if db.afterCut != nil {
		db.afterCut()
	}

	tx, err := db.db.BeginTx(ctx, nil) // _txlock=immediate: no purge can come between this and Commit
	if err != nil {
		return fmt.Errorf("write records: %w", err)
	}
	defer tx.Rollback() // no-op once committed
	var epoch, purgedBefore int64
	if err := tx.QueryRowContext(ctx, `SELECT blob_epoch, purged_before FROM store_meta`).Scan(&epoch, &purgedBefore); err != nil {
		return fmt.Errorf("write records: %w", err)
	}
	if epoch != cutAt {
		// A purge may have deleted blobs the batch was cut without:
		// forget them all and cut it again. Forget what the purge
		// deleted that the packer remembers, too.
		tx.Rollback()
		db.stored.Reset(epoch)
		db.packer.Forget()
		return db.WriteRecords(ctx, recs)
	}
	if epoch > 0 { // some purge ran: a record it deleted must not come back
		keep, err := notPurged(ctx, tx, recs, ids, purgedBefore)
		if err != nil {
			return fmt.Errorf("write records: %w", err)
		}
		if len(keep) < len(recs) {
			tx.Rollback()
			db.packer.Forget() // the cut remembered the purged records' skeletons
			return db.WriteRecords(ctx, keep)
		}
	}
	ins := &inserter{tx: tx, inserts: db.inserts}
	for _, blob := range b.Blobs {
		if err := ins.blob(ctx, blob); err != nil {
			return fmt.Errorf("write records: blob: %w", refused(err))
		}
	}
	for i, r := range recs {
		if err := ins.record(ctx, r, ids[i], b.Rows[i]); err != nil {
			return fmt.Errorf("write record %s: %w", r.ID, refused(err))
		}
	}
	if err := ins.flush(ctx); err != nil {
		return fmt.Errorf("write records: %w", refused(err))
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("write records: %w", err)
	}
	db.stored.AddAt(epoch, b.Blobs)
	return nil
}

// notPurged returns the records of recs that no purge deleted: received at
// or after purgedBefore (0: none by time), and with an id not in purged_ids.
func notPurged(ctx context.Context, tx *sql.Tx, recs []*lyumen.Record, ids [][]byte, purgedBefore int64) ([]*lyumen.Record, error) {
	purged := map[string]bool{}
	for chunk := range slices.Chunk(ids, hashesPerSelect) {
		err := eachRow(ctx, tx, `SELECT id FROM purged_ids WHERE id IN (`+params(len(chunk))+`)`, anys(chunk), func(rs *sql.Rows) error {
			var id []byte
			if err := rs.Scan(&id); err != nil {
				return err
			}
			purged[string(id)] = true
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	keep := make([]*lyumen.Record, 0, len(recs))
	for i, r := range recs {
		if !purged[string(ids[i])] && (purgedBefore == 0 || r.ReceivedAt.UnixMicro() >= purgedBefore) {
			keep = append(keep, r)
		}
	}
	return keep, nil
}

// inserter inserts rows into one transaction, many to a statement: one
// statement for many rows costs one step instead of many, and database/sql's
// overhead per call is larger than SQLite's per row.
type inserter struct {
	tx             *sql.Tx
	inserts        *inserts
	blobArgs       []any
	recordArgs     []any
	nBlob, nRecord int
}

func (in *inserter) blob(ctx context.Context, b pack.Blob) error {
	in.blobArgs = append(in.blobArgs, b.Hash[:], b.Data)
	if in.nBlob++; in.nBlob < blobsPerInsert {
		return nil
	}
	return in.flushBlobs(ctx)
}

func (in *inserter) record(ctx context.Context, r *lyumen.Record, id []byte, row pack.Row) error {
	// nil slices bind NULL
	in.recordArgs = append(in.recordArgs,
		id, r.ReceivedAt.UnixMicro(), r.Duration.Microseconds(), r.TTFT.Microseconds(),
		string(r.Surface), r.Model, r.ServedModel, r.Provider,
		r.Stream, r.Status, r.Error, row.Body, row.Refs, row.Conversation, row.Response, row.Attempts,
		r.Usage.PromptTokens, r.Usage.CompletionTokens, r.Usage.TotalTokens,
		r.UserAgent, r.Country, string(r.Completeness),
	)
	if in.nRecord++; in.nRecord < recordsPerInsert {
		return nil
	}
	return in.flushRecords(ctx)
}

// flush inserts what is buffered.
func (in *inserter) flush(ctx context.Context) error {
	if err := in.flushBlobs(ctx); err != nil {
		return err
	}
	return in.flushRecords(ctx)
}

func (in *inserter) flushBlobs(ctx context.Context) error {
	err := in.exec(ctx, &in.inserts.blobs, in.nBlob, in.blobArgs)
	in.blobArgs, in.nBlob = in.blobArgs[:0], 0
	return err
}

func (in *inserter) flushRecords(ctx context.Context) error {
	err := in.exec(ctx, &in.inserts.records, in.nRecord, in.recordArgs)
	in.recordArgs, in.nRecord = in.recordArgs[:0], 0
	return err
}

// exec inserts n rows, as few statements of a power of two rows each as
// add up to n: 13 rows go in as 8, 4 and 1.
func (in *inserter) exec(ctx context.Context, stmts *[insertSizes]*sql.Stmt, n int, args []any) error {
	cols := len(args) / max(n, 1)
	for n > 0 {
		k := bits.Len(uint(n)) - 1
		rows := 1 << k
		if _, err := in.tx.StmtContext(ctx, stmts[k]).ExecContext(ctx, args[:rows*cols]...); err != nil {
			return err
		}
		args, n = args[rows*cols:], n-rows
	}
	return nil
}

// insertSizes is how many statement sizes inserts keeps: 1, 2, 4 … 128.
const insertSizes = 8

// Each per-insert row count must have its statement.
var _ = [1]struct{}{}[max(recordsPerInsert, blobsPerInsert)>>insertSizes]

// inserts are the INSERT statements of 1, 2, 4, … rows, prepared when the
// store opens. database/sql then prepares each once on every connection
// that runs it, and keeps it; preparing them per batch parsed a statement
// of hundreds of parameters every time (15% of the store's write CPU).
type inserts struct {
	records, blobs [insertSizes]*sql.Stmt // by log2 of the rows
}

func prepareInserts(ctx context.Context, db *sql.DB) (*inserts, error) {
	in := &inserts{}
	prepare := func(stmts []*sql.Stmt, query func(rows int) string, most int) error {
		for k := 0; 1<<k <= most; k++ {
			s, err := db.PrepareContext(ctx, query(1<<k))
			if err != nil {
				return fmt.Errorf("prepare inserts: %w", err)
			}
			stmts[k] = s
		}
		return nil
	}
	if err := prepare(in.records[:], insertRecords, recordsPerInsert); err != nil {
		in.close()
		return nil, err
	}
	if err := prepare(in.blobs[:], insertBlobs, blobsPerInsert); err != nil {
		in.close()
		return nil, err
	}
	return in, nil
}

func (in *inserts) close() {
	for _, s := range append(in.records[:], in.blobs[:]...) {
		if s != nil {
			_ = s.Close() // the database closes next
		}
	}
}

// Record reads one record back, with its request body, conversation and
// response rebuilt from blobs. An unknown id is a *lyumen.Error of kind
// lyumen.KindNotFound. The id comes back in canonical lower-case form.
func (db *DB) Record(ctx context.Context, id string) (*lyumen.Record, error) {
	notFound := &lyumen.Error{Kind: lyumen.KindNotFound, Message: fmt.Sprintf("record %q not found", id)}
	key, err := parseID(id)
	if err != nil {
		notFound.Err = err
		return nil, notFound
	}
	// A read transaction (deferred, so it takes no write lock) sees the row
	// and its blobs in one snapshot.
	tx, err := db.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("read record %s: %w", id, err)
	}
	defer tx.Rollback() // read only: nothing to commit

	var (
		r                     lyumen.Record
		stored                []byte
		receivedAt, dur, ttft int64
		row                   pack.Row
	)
	err = tx.QueryRowContext(ctx, `SELECT
		id, received_at, duration_us, ttft_us, surface, model, served_model, provider,
		stream, status, error, body, refs, conversation, response, attempts,
		prompt_tokens, completion_tokens, total_tokens, user_agent, country, completeness
		FROM records WHERE id = ?`, key).Scan(
		&stored, &receivedAt, &dur, &ttft, &r.Surface, &r.Model, &r.ServedModel, &r.Provider,
		&r.Stream, &r.Status, &r.Error, &row.Body, &row.Refs, &row.Conversation, &row.Response, &row.Attempts,
		&r.Usage.PromptTokens, &r.Usage.CompletionTokens, &r.Usage.TotalTokens,
		&r.UserAgent, &r.Country, &r.Completeness,
	)
	if errors.Is(err, sql.ErrNoRows) {
		notFound.Err = err
		return nil, notFound
	}
	if err != nil {
		return nil, fmt.Errorf("read record %s: %w", id, err)
	}
	r.ID = formatID(stored)
	r.ReceivedAt = time.UnixMicro(receivedAt).UTC()
	r.Duration = time.Duration(dur) * time.Microsecond
	r.TTFT = time.Duration(ttft) * time.Microsecond

	blobs, err := readBlobs(ctx, tx, row.Refs)
	if err != nil {
		return nil, fmt.Errorf("read record %s: %w", id, err)
	}
	err = db.packer.Unpack(&r, row, func(h pack.Hash) ([]byte, error) {
		if b, ok := blobs[h]; ok {
			return b, nil
		}
		return nil, errors.New("missing from blobs")
	})
	if err != nil {
		return nil, fmt.Errorf("read record %s: %w", id, err)
	}
	return &r, nil
}

// readBlobs fetches the blobs refs names.
func readBlobs(ctx context.Context, tx *sql.Tx, refs []byte) (map[pack.Hash][]byte, error) {
	hashes, err := pack.Refs(refs)
	if err != nil || len(hashes) == 0 {
		return nil, err
	}
	var args []any
	seen := make(map[pack.Hash]bool, len(hashes))
	for _, h := range hashes {
		if !seen[h] { // a piece may recur ("continue", a tool result)
			seen[h] = true
			args = append(args, h[:])
		}
	}
	out := make(map[pack.Hash][]byte, len(args))
	for len(args) > 0 {
		n := min(hashesPerSelect, len(args))
		q := `SELECT hash, data FROM blobs WHERE hash IN (` + params(n) + `)`
		if err := readBlobsInto(ctx, tx, out, q, args[:n]); err != nil {
			return nil, err
		}
		args = args[n:]
	}
	return out, nil
}

func readBlobsInto(ctx context.Context, tx *sql.Tx, out map[pack.Hash][]byte, q string, args []any) error {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("blobs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h, data []byte
		if err := rows.Scan(&h, &data); err != nil {
			return fmt.Errorf("blobs: %w", err)
		}
		if len(h) != pack.HashSize {
			return fmt.Errorf("blobs: hash of %d bytes", len(h))
		}
		out[pack.Hash(h)] = data
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("blobs: %w", err)
	}
	return nil
}

// Count returns the number of stored records.
func (db *DB) Count(ctx context.Context) (int64, error) {
	var n int64
	if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM records`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count records: %w", err)
	}
	return n, nil
}

// refused marks err with lyumen.ErrRejected when SQLite refused a value for
// what it is (too big, against a constraint, of the wrong type): the same
// records would be refused again.
func refused(err error) error {
	if se, ok := errors.AsType[*msqlite.Error](err); ok {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_CONSTRAINT, sqlite3.SQLITE_MISMATCH:
			return fmt.Errorf("%w: %w", lyumen.ErrRejected, err)
		}
	}
	return err
}
