// Package scrub removes secrets from records before they reach the store:
// API keys, cloud keys, JWTs, private keys, passwords and credentials in
// URLs (redact.SecretKinds) become typed placeholders in the request body,
// the canonical conversation, the response and the error messages. Personal
// data is left for the export to anonymize; secrets must never rest in the
// store at all.
//
// Writer wraps the store the spool ships to, so scrubbing runs in the
// shipper, off the request path.
package scrub

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/redact"
)

// BatchWriter is what the spool ships to (spool.Writer).
type BatchWriter interface {
	WriteRecords(ctx context.Context, recs []*lyumen.Record) error
}

// Writer scrubs each batch, then hands it on.
type Writer struct {
	next BatchWriter
	r    *redact.Redactor
	// OnScrub, when set, is told about every batch: its records, the
	// secrets replaced, and the time scrubbing took.
	OnScrub func(records, replaced int, d time.Duration)
}

// New returns a Writer that scrubs with a Redactor of the secret kinds.
func New(next BatchWriter) (*Writer, error) {
	r, err := redact.New(redact.Options{Kinds: redact.SecretKinds()})
	if err != nil {
		return nil, fmt.Errorf("scrub: %w", err)
	}
	return &Writer{next: next, r: r}, nil
}

// WriteRecords scrubs recs in place and writes them to the next writer.
// Scrubbing twice changes nothing more (placeholders are not secrets), so
// a batch the spool retries is written the same.
func (w *Writer) WriteRecords(ctx context.Context, recs []*lyumen.Record) error {
	start := time.Now()
	n := 0
	for _, rec := range recs {
		if rec != nil {
			n += Record(w.r, rec)
		}
	}
	if w.OnScrub != nil {
		w.OnScrub(len(recs), n, time.Since(start))
	}
	return w.next.WriteRecords(ctx, recs)
}

// Record scrubs rec in place with r, one redaction session for the whole
// record so that a secret gets the same placeholder in the body and in the
// conversation, and returns how many findings it replaced.
func Record(r *redact.Redactor, rec *lyumen.Record) int {
	s := r.NewSession(rec.Country)
	str := func(p *string) {
		if *p != "" {
			*p, _ = s.Redact(*p)
		}
	}
	if len(rec.Request) > 0 {
		if out, n := s.Redact(string(rec.Request)); n > 0 {
			// Placeholders are JSON-safe and spans stop at quotes and
			// backslashes, so valid JSON stays valid. Should a span still
			// break it, scrub the decoded strings and encode them again:
			// the body loses its original spacing, not its secrets.
			if json.Valid(rec.Request) && !json.Valid([]byte(out)) {
				out = scrubJSON(rec.Request, str)
			}
			rec.Request = []byte(out)
		}
	}
	if c := rec.Conversation; c != nil {
		for i := range c.Messages {
			message(&c.Messages[i], str)
		}
		for i := range c.Tools {
			str(&c.Tools[i].Description)
		}
		for i := range c.Stop {
			str(&c.Stop[i])
		}
	}
	if resp := rec.Response; resp != nil {
		for i := range resp.Choices {
			message(&resp.Choices[i].Message, str)
		}
		if len(resp.Raw) > 0 {
			if out, n := s.Redact(string(resp.Raw)); n > 0 {
				resp.Raw = []byte(out)
			}
		}
	}
	str(&rec.Error)
	for i := range rec.Attempts {
		str(&rec.Attempts[i].Error)
	}
	return s.Replaced()
}

func message(m *lyumen.Message, str func(*string)) {
	str(&m.Content)
	for i := range m.Parts {
		if m.Parts[i].Type == lyumen.PartText {
			str(&m.Parts[i].Text)
		}
		str(&m.Parts[i].URL) // a signed image URL carries a credential
	}
	for i := range m.ToolCalls {
		str(&m.ToolCalls[i].Arguments)
	}
}

// scrubJSON scrubs every string of a JSON document, keys included.
func scrubJSON(b []byte, str func(*string)) string {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return "{}"
	}
	var walk func(any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case string:
			str(&x)
			return x
		case []any:
			for i := range x {
				x[i] = walk(x[i])
			}
		case map[string]any:
			out := make(map[string]any, len(x))
			for k, e := range x {
				str(&k)
				out[k] = walk(e)
			}
			return out
		}
		return v
	}
	out, err := json.Marshal(walk(v))
	if err != nil {
		return "{}"
	}
	return string(out)
}
