package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/lyumen/lyumen"
)

const insertRecord = `INSERT INTO records (
	id, received_at, duration_us, ttft_us, surface, model, served_model, provider,
	stream, status, error, request, response,
	prompt_tokens, completion_tokens, total_tokens, user_agent, country, completeness, attempts
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO NOTHING`

// WriteRecords stores recs in one transaction: all or none. A record whose
// ID is already stored is skipped, so a batch replayed after a crash (or a
// record given twice) is stored once; the first version written wins.
// Response and Attempts are stored as JSON, so a Message.Parts holding
// insignificant whitespace reads back compacted.
func (db *DB) WriteRecords(ctx context.Context, recs []*lyumen.Record) error {
	if len(recs) == 0 {
		return nil
	}
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("write records: %w", err)
	}
	defer tx.Rollback() // no-op once committed

	// One prepared single-row INSERT, executed per record: the statement is
	// compiled once per batch, and the cost per row is binding and stepping.
	stmt, err := tx.PrepareContext(ctx, insertRecord)
	if err != nil {
		return fmt.Errorf("write records: %w", err)
	}
	defer stmt.Close()

	resp, attempts := newJSONBuffer(), newJSONBuffer()
	for i, r := range recs {
		if r == nil {
			return fmt.Errorf("write records: record %d is nil", i)
		}
		var respJSON, attemptsJSON []byte // nil binds NULL
		if r.Response != nil {
			if respJSON, err = resp.encode(r.Response); err != nil {
				return fmt.Errorf("write record %s: encode response: %w", r.ID, err)
			}
		}
		if r.Attempts != nil {
			if attemptsJSON, err = attempts.encode(r.Attempts); err != nil {
				return fmt.Errorf("write record %s: encode attempts: %w", r.ID, err)
			}
		}
		_, err = stmt.ExecContext(ctx,
			r.ID, r.ReceivedAt.UnixMicro(), r.Duration.Microseconds(), r.TTFT.Microseconds(),
			string(r.Surface), r.Model, r.ServedModel, r.Provider,
			r.Stream, r.Status, r.Error, r.Request, respJSON,
			r.Usage.PromptTokens, r.Usage.CompletionTokens, r.Usage.TotalTokens,
			r.UserAgent, r.Country, string(r.Completeness), attemptsJSON,
		)
		if err != nil {
			return fmt.Errorf("write record %s: %w", r.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("write records: %w", err)
	}
	return nil
}

// jsonBuffer encodes values into one reused buffer, so a batch costs no
// allocation per record for it. The driver copies the bytes it binds, so a
// result need only live until the next encode.
type jsonBuffer struct {
	buf bytes.Buffer
	enc *json.Encoder
}

func newJSONBuffer() *jsonBuffer {
	j := &jsonBuffer{}
	j.enc = json.NewEncoder(&j.buf)
	j.enc.SetEscapeHTML(false) // completions are full of <, > and &: keep them short and readable
	return j
}

func (j *jsonBuffer) encode(v any) ([]byte, error) {
	j.buf.Reset()
	if err := j.enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(j.buf.Bytes(), []byte("\n")), nil // Encode ends with a newline
}

// Record reads one record back. An unknown id is a *lyumen.Error of kind
// lyumen.KindNotFound.
func (db *DB) Record(ctx context.Context, id string) (*lyumen.Record, error) {
	var (
		r                     lyumen.Record
		receivedAt, dur, ttft int64
		hasRequest            bool
		resp, attempts        []byte
	)
	// The driver reads a zero-length blob as nil, so whether request is NULL
	// is asked separately: a nil body and an empty one each read back as written.
	err := db.db.QueryRowContext(ctx, `SELECT
		id, received_at, duration_us, ttft_us, surface, model, served_model, provider,
		stream, status, error, request, request IS NOT NULL, response,
		prompt_tokens, completion_tokens, total_tokens, user_agent, country, completeness, attempts
		FROM records WHERE id = ?`, id).Scan(
		&r.ID, &receivedAt, &dur, &ttft, &r.Surface, &r.Model, &r.ServedModel, &r.Provider,
		&r.Stream, &r.Status, &r.Error, &r.Request, &hasRequest, &resp,
		&r.Usage.PromptTokens, &r.Usage.CompletionTokens, &r.Usage.TotalTokens,
		&r.UserAgent, &r.Country, &r.Completeness, &attempts,
	)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &lyumen.Error{Kind: lyumen.KindNotFound, Message: fmt.Sprintf("record %q not found", id), Err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("read record %s: %w", id, err)
	}
	r.ReceivedAt = time.UnixMicro(receivedAt).UTC()
	r.Duration = time.Duration(dur) * time.Microsecond
	r.TTFT = time.Duration(ttft) * time.Microsecond
	if hasRequest && r.Request == nil {
		r.Request = []byte{}
	}
	if resp != nil {
		r.Response = new(lyumen.Response)
		if err := json.Unmarshal(resp, r.Response); err != nil {
			return nil, fmt.Errorf("read record %s: decode response: %w", id, err)
		}
	}
	if attempts != nil {
		if err := json.Unmarshal(attempts, &r.Attempts); err != nil {
			return nil, fmt.Errorf("read record %s: decode attempts: %w", id, err)
		}
	}
	return &r, nil
}

// Count returns the number of stored records.
func (db *DB) Count(ctx context.Context) (int64, error) {
	var n int64
	if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM records`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count records: %w", err)
	}
	return n, nil
}
