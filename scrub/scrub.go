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
	"hash/maphash"
	"strings"
	"sync"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/jsonscan"
	"github.com/lyumen/lyumen/internal/jsontext"
	"github.com/lyumen/lyumen/internal/pack"
	"github.com/lyumen/lyumen/redact"
)

// BatchWriter is what the spool ships to (spool.Writer).
type BatchWriter interface {
	WriteRecords(ctx context.Context, recs []*lyumen.Record) error
}

// Writer scrubs each batch, then hands it on.
type Writer struct {
	next  BatchWriter
	r     *redact.Redactor
	mu    sync.Mutex // guards clean; the spool sends one batch at a time, so it is not contended
	clean *cleanStrings
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
	return &Writer{next: next, r: r, clean: newCleanStrings(1 << 15)}, nil
}

// WriteRecords scrubs recs in place and writes them to the next writer.
// Scrubbing twice changes nothing more (placeholders are not secrets), so
// a batch the spool retries is written the same.
func (w *Writer) WriteRecords(ctx context.Context, recs []*lyumen.Record) error {
	start := time.Now()
	n := 0
	w.mu.Lock()
	for _, rec := range recs {
		if rec != nil {
			n += record(w.r, rec, w.clean)
		}
	}
	w.mu.Unlock()
	if w.OnScrub != nil {
		w.OnScrub(len(recs), n, time.Since(start))
	}
	return w.next.WriteRecords(ctx, recs)
}

// Record scrubs rec in place with r, one redaction session for the whole
// record so that a secret gets the same placeholder in the body and in the
// conversation, and returns how many findings it replaced.
func Record(r *redact.Redactor, rec *lyumen.Record) int { return record(r, rec, nil) }

// record is Record, skipping the strings clean (when not nil) knows hold
// no secret, and teaching it those it finds clean: the same result, less
// work.
func record(r *redact.Redactor, rec *lyumen.Record, clean *cleanStrings) int {
	s := r.NewSession(rec.Country)
	x := scanner{
		text: func(text string) (string, int) { return clean.redact(s.Redact, rec.Country, text, false) },
		raw:  func(text string) (string, int) { return clean.redact(s.RedactJSON, rec.Country, text, true) },
	}
	str := func(p *string) {
		if *p != "" {
			*p, _ = x.text(*p)
		}
	}
	doc := func(in string) (string, int) { // a JSON document: stays one
		out, n := x.json(in, jsonDepth)
		if n > 0 {
			out = validAfter(in, out, str)
		}
		return out, n
	}
	js := func(p *string) { // a tool call's arguments
		if *p != "" {
			*p, _ = doc(*p)
		}
	}
	if len(rec.Request) > 0 {
		if out, n := body(rec, x); n > 0 {
			rec.Request = []byte(validAfter(string(rec.Request), out, str))
		}
	}
	if c := rec.Conversation; c != nil {
		for i := range c.Messages {
			message(&c.Messages[i], str, js)
		}
		for i := range c.Tools {
			str(&c.Tools[i].Description)
			if p := c.Tools[i].Parameters; len(p) > 0 { // a schema's default or example may be a key
				if out, n := doc(string(p)); n > 0 {
					c.Tools[i].Parameters = json.RawMessage(out)
				}
			}
		}
		for i := range c.Stop {
			str(&c.Stop[i])
		}
	}
	if resp := rec.Response; resp != nil {
		for i := range resp.Choices {
			message(&resp.Choices[i].Message, str, js)
		}
		if len(resp.Raw) > 0 {
			if out, n := doc(string(resp.Raw)); n > 0 {
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

// body scrubs rec's request body with s. A chat body is read in parts:
// each message text on its own (pack.MessageTexts), decoded, which clean
// (when not nil) may know, and the JSON between them. A text is
// scanned as the conversation's copy of it is, so the body and the
// conversation keep or replace the same secrets, and the key before each
// text is "content" or "text", which names no secret for the keyword
// rules. It differs
// from a scan of the whole body, one line of text, where a few rules read
// context across messages: gitleaks' curl rules ("curl" in one message,
// "-u user:pass" in another) and the line-wide allowlist of its generic
// rule (a JS import anywhere hid every generic secret in the body).
func body(rec *lyumen.Record, x scanner) (string, int) {
	b := string(rec.Request)
	texts := pack.MessageTexts(rec.Request)
	if len(texts) == 0 {
		return x.json(b, jsonDepth)
	}
	// The body is rebuilt only once something in it is replaced: out holds
	// b up to copied, with what replaced it.
	var (
		out           strings.Builder
		total, copied int
	)
	replace := func(start, end int, red string) {
		if total == 0 {
			out.Grow(len(b))
		}
		out.WriteString(b[copied:start])
		out.WriteString(red)
		copied = end
	}
	scan := func(start, end int) { // JSON between texts, outside any string
		if out, n := x.json(b[start:end], jsonDepth); n > 0 {
			replace(start, end, out)
			total += n
		}
	}
	// A text is scrubbed decoded, as the conversation's copy is: escapes
	// (\" around a password, \u0041) hide nothing then. It is written back
	// as it came unless something was replaced.
	text := func(start, end int) {
		t, ok := unquote(b[start:end])
		if !ok {
			scan(start, end) // cannot happen: MessageTexts found a string
			return
		}
		if out, n := x.text(t); n > 0 {
			enc, _ := json.Marshal(out) // cannot fail: a string
			replace(start, end, string(enc))
			total += n
		}
	}
	last := 0
	for _, c := range texts {
		if c[0] > last {
			scan(last, c[0])
		}
		text(c[0], c[1])
		last = c[1]
	}
	if last < len(b) {
		scan(last, len(b))
	}
	if total == 0 {
		return b, 0
	}
	out.WriteString(b[copied:])
	return out.String(), total
}

func message(m *lyumen.Message, str, js func(*string)) {
	str(&m.Content)
	str(&m.Reasoning)
	str(&m.Refusal)
	for i := range m.Parts {
		if m.Parts[i].Type == lyumen.PartText {
			str(&m.Parts[i].Text)
		}
		str(&m.Parts[i].URL) // a signed image URL carries a credential
	}
	for i := range m.ToolCalls {
		js(&m.ToolCalls[i].Arguments)
	}
}

// scanner scrubs text with one record's redaction session: text as it
// reads, or raw JSON as written (redact.Session.RedactJSON).
type scanner struct{ text, raw func(string) (string, int) }

// jsonDepth is how many levels of JSON inside a JSON string json decodes:
// a tool call's arguments in a body are one.
const jsonDepth = 2

// json scrubs text that is JSON, or a run of it that starts outside any
// string: as written first, where a key names the secret its value holds;
// then each string in it that holds an escape, decoded, where \" around a
// password or \n before a key no longer hides it from the rules. A decoded
// string that is JSON in turn is scrubbed so, depth levels down; any
// other, as text.
func (x scanner) json(text string, depth int) (string, int) {
	out, n := x.raw(text)
	if depth == 0 || strings.IndexByte(out, '\\') < 0 {
		return out, n
	}
	var b strings.Builder
	last, total := 0, n
	for i := 0; i < len(out); {
		q := strings.IndexByte(out[i:], '"')
		if q < 0 {
			break
		}
		i += q
		sc := jsonscan.New(out[i:])
		lit, ok := sc.RawString()
		if !ok {
			break // not JSON from here: it was scanned as written
		}
		end := i + len(lit)
		if strings.IndexByte(lit, '\\') < 0 {
			i = end // as written is as decoded: scanned already
			continue
		}
		if t, ok := unquote(lit); ok {
			var r string
			var m int
			if s := strings.TrimSpace(t); s != "" && (s[0] == '{' || s[0] == '[') {
				r, m = x.json(t, depth-1)
			} else {
				r, m = x.text(t)
			}
			if m > 0 {
				b.WriteString(out[last:i])
				b.Write(jsontext.AppendStringRaw(nil, r)) // code keeps its < and >
				last, total = end, total+m
			}
		}
		i = end
	}
	if last == 0 {
		return out, total
	}
	b.WriteString(out[last:])
	return b.String(), total
}

// unquote returns the value of the JSON string literal lit.
func unquote(lit string) (string, bool) {
	if t, ok := jsonscan.Unquote(lit); ok {
		return t, true
	}
	var t string
	return t, json.Unmarshal([]byte(lit), &t) == nil
}

// validAfter returns out, the scrubbed in, or when in was a JSON document
// and out is none (a span the redactor should not have cut), in with every
// string scrubbed and encoded again: the loss is the original spacing, not
// the secrets.
func validAfter(in, out string, str func(*string)) string {
	if json.Valid([]byte(in)) && !json.Valid([]byte(out)) {
		return scrubJSON([]byte(in), str)
	}
	return out
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

// cleanStrings remembers long strings of recent records that held no
// secret, by a keyed 128-bit hash of the string and the record's country
// (the one other input of a scan). A client resends the whole conversation
// every turn, and many share a system prompt: without it each turn would
// scan the history again, so scrubbing a conversation would cost the
// square of its length. Two generations of up to max keys bound its memory.
type cleanStrings struct {
	seeds    [2]maphash.Seed
	cur, old map[[2]uint64]struct{}
	max      int
}

// minClean is the shortest string worth remembering: the shortest that
// redact scans at all. A scan has a fixed cost, ~290 ns for 6 to 15 bytes
// and ~850 ns for 52, against well under 100 ns for the hash and lookup;
// a record's short strings (the JSON between its texts, a system prompt,
// a short question) came to most of what scrubbing it cost.
const minClean = 6

func newCleanStrings(max int) *cleanStrings {
	return &cleanStrings{seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		cur: map[[2]uint64]struct{}{}, max: max}
}

// redact is red(text), a session's Redact or RedactJSON (raw), for a
// record from country, skipping text that c knows is clean and teaching c
// the text it finds clean. A nil c remembers nothing.
func (c *cleanStrings) redact(red func(string) (string, int), country, text string, raw bool) (string, int) {
	k, memo := c.key(country, text, raw)
	if memo && c.has(k) {
		return text, 0
	}
	out, n := red(text)
	if n == 0 && memo {
		c.add(k)
	}
	return out, n
}

// key returns s's key, and whether s is one to remember at all.
func (c *cleanStrings) key(country, s string, raw bool) ([2]uint64, bool) {
	if c == nil || len(s) < minClean {
		return [2]uint64{}, false
	}
	mode := byte(0)
	if raw {
		mode = 1
	}
	var k [2]uint64
	for i, seed := range c.seeds {
		var h maphash.Hash
		h.SetSeed(seed)
		h.WriteString(country)
		h.WriteByte(mode)
		h.WriteString(s)
		k[i] = h.Sum64()
	}
	return k, true
}

func (c *cleanStrings) has(k [2]uint64) bool {
	if _, ok := c.cur[k]; ok {
		return true
	}
	if _, ok := c.old[k]; ok {
		c.add(k) // still in use: keep it through the next turn-over
		return true
	}
	return false
}

func (c *cleanStrings) add(k [2]uint64) {
	if len(c.cur) >= c.max {
		c.old, c.cur = c.cur, make(map[[2]uint64]struct{}, c.max)
	}
	c.cur[k] = struct{}{}
}
