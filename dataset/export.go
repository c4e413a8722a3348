// Package dataset builds training sets from the logs: filter → thread →
// redact → dedup → split → write, streaming over the store.
//
// Export reads the store once, newest first. A client resends the whole
// history each turn, so a record is continued by a later one when its
// transcript starts that record's conversation: reading backward, the
// later record has been read already, and the hashes of its prefixes tell
// the earlier one to collapse into it (see thread.go). Each record left
// (a leaf) goes through the conversation filters, language detection,
// anonymization, exact and near dedup (see dedup.go) and the split, and
// becomes an Example for a Sink: the JSONL writers here, Parquet in
// package dataset/parquet.
//
// Memory grows with the number of records, not with their content:
// 16 bytes per prefix in the thread set, and about 400 bytes of
// dedup state per exported conversation. The tables live in temporary
// files mapped into memory, and past Options.StateMemory their pages are
// released to the page cache (see state.go), so the process's memory stays
// bounded however large the store. Whole records are held only for
// clockSkew of received_at before each is known to be a leaf, and examples
// of a country until it has K of them (at most K-1 per country).
package dataset

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"maps"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/redact"
)

// Source streams the store's records, oldest first, for Aggregate;
// sqlite.DB and postgres.DB have it.
type Source interface {
	// Scan calls fn with every record received in [from, to), in order of
	// received_at then id; a zero bound is open.
	Scan(ctx context.Context, from, to time.Time, fn func(*lyumen.Record) error) error
}

// ConversationSource is what Export reads; sqlite.DB and postgres.DB have
// it.
type ConversationSource interface {
	// ScanConversationsBackward calls fn with every record received in
	// [from, to), newest first (received_at then id, descending); a zero
	// bound is open. A record needs only its id, received_at, surface,
	// model, usage, user agent, country, completeness, its conversation's
	// messages and its response's choices.
	ScanConversationsBackward(ctx context.Context, from, to time.Time, fn func(*lyumen.Record) error) error
}

// Sink receives the exported examples: newest first, except that those of
// a country with fewer than K examples so far come when it reaches K, or at
// the end.
type Sink interface {
	Write(ex *Example) error
	// Close finishes the files. Export calls it once, also after an error.
	Close() error
}

// Filter selects what is exported. Zero values select everything, except
// Completeness, which defaults to completed exchanges only.
type Filter struct {
	From, To     time.Time // received_at in [From, To)
	Models       []string  // as the client asked
	Countries    []string  // ISO 3166-1 alpha-2
	Languages    []string  // ISO 639-1, as detected
	Surfaces     []string  // lyumen.Surface values
	Completeness []lyumen.Completeness
	MinTurns     int // user messages
	MaxTurns     int
	MinChars     int // characters of message text, before redaction
	MaxChars     int
	// Sample keeps this fraction of conversations (0 or 1: all), chosen by
	// a hash of the conversation's start and the seed, so the same seed
	// gives the same sample.
	Sample float64
}

// Options configures Export.
type Options struct {
	Filter Filter
	// Redactor anonymizes every message; nil exports the text as stored.
	Redactor *redact.Redactor
	// NoDedup keeps duplicates.
	NoDedup bool
	// TestFraction of conversations go to the "test" split, by a hash of
	// the conversation's start and the seed (all branches of one
	// conversation land in the same split); 0: everything is "train".
	TestFraction float64
	Seed         uint64
	// K suppresses rare countries: a country with fewer than K exported
	// conversations is released as "". Default 10.
	K int
	// OnProgress is called about ten times a second with how far the
	// export is.
	OnProgress func(Progress)
	// Workers run the CPU-bound steps (redaction, language, MinHash);
	// default GOMAXPROCS.
	Workers int
	Logger  *slog.Logger
	// TempDir holds the state files (see state.go); default os.TempDir().
	TempDir string
	// StateMemory is how much of the thread and dedup tables may stay in
	// memory before their pages are released to the page cache; default
	// DefaultStateMemory.
	StateMemory int64
	// IDKey keys the examples' ids (see ExampleID); default a random key,
	// so that ids match only within one export.
	IDKey []byte

	reasoning bool // the sink writes a message's reasoning (ReasoningSink)
}

// ReasoningSink is a Sink that writes a message's reasoning. Another sink's
// examples come without it, so its redactions are not counted either.
type ReasoningSink interface {
	Sink
	WritesReasoning() bool
}

// DefaultStateMemory is Options.StateMemory's default.
const DefaultStateMemory = 128 << 20

// Progress is how far an export (or Aggregate) is.
type Progress struct {
	Done    int64 // records read
	Total   int64 // records it will read; 0 when unknown
	Written int64 // examples written so far
}

// Export runs the pipeline from src to sink and returns the statistics.
func Export(ctx context.Context, src ConversationSource, sink Sink, o Options) (st *Stats, err error) {
	defer func() {
		if cerr := sink.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	o = o.withDefaults()
	if rs, ok := sink.(ReasoningSink); ok {
		o.reasoning = rs.WritesReasoning()
	}
	f := o.Filter
	st = newStats(o)
	started := time.Now()
	mem := newArena(o.TempDir, o.StateMemory)
	defer func() {
		if cerr := mem.close(); cerr != nil && err == nil {
			err = fmt.Errorf("export: state: %w", cerr)
		}
	}()
	var total int64 // known when the store counts and no time range is set
	if c, ok := src.(interface {
		Count(ctx context.Context) (int64, error)
	}); ok && f.From.IsZero() && f.To.IsZero() {
		total, _ = c.Count(ctx) // only for the progress bar
	}
	prog := newTicker(o.OnProgress)

	// The scan's goroutine threads (it alone touches prefixes), the
	// workers process the leaves, the writer's goroutine (it alone touches
	// d, st and the country counts) decides on duplicates and writes.
	var (
		prefixes  = hashSet{a: mem}
		read      int64
		dropped   = map[string]int64{} // on the record's own fields, by the scan
		collapsed int64
		written   atomic.Int64 // counted by the writer, read by the scan for progress
	)
	produce := func(emit func(item) error) error {
		var undecided leafQueue // read, not yet known to be leaves; newest first
		// decide settles the n records read first of those undecided.
		decide := func(n int) error {
			for range n {
				l := undecided.pop()
				if prefixes.has(l.transcript) {
					collapsed++
					continue
				}
				if err := emit(l.item); err != nil {
					return err
				}
			}
			return nil
		}
		err := src.ScanConversationsBackward(ctx, f.From, f.To, func(r *lyumen.Record) error {
			read++
			prog.tick(Progress{Done: read, Total: total, Written: written.Load()})
			if why := f.rejectRecord(r); why != "" {
				dropped[why]++
				return nil
			}
			msgs, ok := transcript(r)
			if !ok {
				dropped["no_answer"]++
				return nil
			}
			// Newest first: the records that continue one have been read
			// by the time the scan is clockSkew past it, and their
			// prefixes include its transcript.
			n := 0
			for n < undecided.len() && undecided.at(n).at.Sub(r.ReceivedAt) > clockSkew {
				n++
			}
			if err := decide(n); err != nil {
				return err
			}
			mem.tick()
			full := prefixHashes(msgs[:len(msgs)-1], func(h uint64) { prefixes.add(h) })
			undecided.push(leaf{item{rec: r, msgs: msgs}, r.ReceivedAt,
				chain(full, messageHash(&msgs[len(msgs)-1]))})
			return nil
		})
		if err == nil {
			err = decide(undecided.len())
		}
		return err
	}
	d := newDeduper(mem)
	rare := rareCountries{k: o.K, examples: map[string]int{}, held: map[string][]heldExample{}}
	out := func(ex *Example, counts map[redact.Kind]int) error {
		if err := sink.Write(ex); err != nil {
			return fmt.Errorf("export: write: %w", err)
		}
		written.Add(1)
		st.add(ex, counts)
		return nil
	}
	consume := func(it *item) error {
		if it.drop != "" {
			st.Dropped[it.drop]++
			return nil
		}
		if !o.NoDedup {
			mem.tick()
			switch d.decide(it.exactHash, &it.sig) {
			case exactDup:
				st.ExactDuplicates++
				return nil
			case nearDup:
				st.NearDuplicates++
				return nil
			}
		}
		return rare.write(it.ex, it.counts, out)
	}
	err = pipeline(ctx, o.Workers, produce, func(it *item) { o.process(it) }, consume)
	if err == nil {
		err = rare.flush(out)
	}
	prog.flush(Progress{Done: read, Total: total, Written: written.Load()})
	for why, n := range dropped {
		st.Dropped[why] += n
	}
	st.Scanned, st.Collapsed = read, collapsed
	if err != nil {
		return st, err
	}
	st.ThreadBytes = int64(prefixes.bytes())
	st.DedupBytes = int64(d.bytes())
	st.Duration = time.Since(started)
	if !o.NoDedup {
		p := Params()
		st.Dedup = &p
	}
	return st, nil
}

// clockSkew is how much earlier than the record it continues a
// continuation may be stamped and still collapse it. A continuation is
// sent after the answer it continues, so it is stamped later by at least
// that answer's duration, but gateways behind one store each stamp by
// their own clock. Export holds a record this long (in received_at)
// before deciding it is a leaf: memory for the records of that span.
const clockSkew = 2 * time.Second

// leaf is a record read, before Export decides whether it is one.
type leaf struct {
	item
	at         time.Time
	transcript uint64 // hash
}

// leafQueue is a FIFO of leaves: a record in, the oldest out, in constant
// time however many records clockSkew spans.
type leafQueue struct {
	q    []leaf
	head int
}

func (lq *leafQueue) len() int       { return len(lq.q) - lq.head }
func (lq *leafQueue) at(i int) *leaf { return &lq.q[lq.head+i] }
func (lq *leafQueue) push(l leaf)    { lq.q = append(lq.q, l) }

func (lq *leafQueue) pop() leaf {
	l := lq.q[lq.head]
	lq.q[lq.head] = leaf{} // the record's memory can go
	lq.head++
	if lq.head == len(lq.q) {
		lq.q, lq.head = lq.q[:0], 0
	} else if lq.head >= 1024 && 2*lq.head >= len(lq.q) {
		n := copy(lq.q, lq.q[lq.head:])
		clear(lq.q[n:]) // the moved leaves' old copies
		lq.q, lq.head = lq.q[:n], 0
	}
	return l
}

// rareCountries releases a country with an example only when at least k
// of the examples exported (after the filters, sampling and dedup) come
// from it, and as "" otherwise: what a reader of the dataset can count.
// The count is known only at the end, so the examples of a country are
// held back until it reaches k: at most k-1 per country, however large
// the store.
type rareCountries struct {
	k        int
	examples map[string]int
	held     map[string][]heldExample
}

type heldExample struct {
	ex     *Example
	counts map[redact.Kind]int
}

// write passes ex on to out, after the examples held for its country,
// once the country has k examples; until then it holds ex.
func (rc *rareCountries) write(ex *Example, counts map[redact.Kind]int, out func(*Example, map[redact.Kind]int) error) error {
	c := ex.Country
	rc.examples[c]++
	if rc.examples[c] < rc.k {
		rc.held[c] = append(rc.held[c], heldExample{ex, counts})
		return nil
	}
	if err := rc.release(c, out); err != nil {
		return err
	}
	return out(ex, counts)
}

// release writes the examples held for country c.
func (rc *rareCountries) release(c string, out func(*Example, map[redact.Kind]int) error) error {
	for _, h := range rc.held[c] {
		if err := out(h.ex, h.counts); err != nil {
			return err
		}
	}
	delete(rc.held, c)
	return nil
}

// flush writes what is still held, without its country: none of those
// countries reached k examples.
func (rc *rareCountries) flush(out func(*Example, map[redact.Kind]int) error) error {
	for _, c := range slices.Sorted(maps.Keys(rc.held)) {
		for _, h := range rc.held[c] {
			h.ex.Country = ""
		}
		if err := rc.release(c, out); err != nil {
			return err
		}
	}
	return nil
}

func (o Options) withDefaults() Options {
	if len(o.Filter.Completeness) == 0 {
		o.Filter.Completeness = []lyumen.Completeness{lyumen.Complete}
	}
	if o.K <= 0 {
		o.K = 10
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.StateMemory <= 0 {
		o.StateMemory = DefaultStateMemory
	}
	if len(o.IDKey) == 0 {
		o.IDKey = make([]byte, 32)
		rand.Read(o.IDKey)
	}
	return o
}

// ExampleID is the id of the example of the record recordID, exported with
// key (Options.IDKey): a keyed hash, not the record's id itself, which is
// a UUIDv7 (it holds the time to the millisecond, where examples say only
// the hour) and the X-Request-Id its client was given (it would find the
// conversation in a published dataset).
func ExampleID(key []byte, recordID string) string {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(recordID))
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// rejectRecord says why a record is filtered out on its own fields, or "".
func (f *Filter) rejectRecord(r *lyumen.Record) string {
	switch {
	case !slices.Contains(f.Completeness, r.Completeness):
		return "status"
	case len(f.Models) > 0 && !slices.Contains(f.Models, r.Model):
		return "model"
	case len(f.Countries) > 0 && !slices.Contains(f.Countries, r.Country):
		return "country"
	case len(f.Surfaces) > 0 && !slices.Contains(f.Surfaces, string(r.Surface)):
		return "surface"
	}
	return ""
}

// item is one leaf on its way to the sink.
type item struct {
	rec       *lyumen.Record
	msgs      []Message // its transcript
	drop      string    // why it is not exported, "" if it is
	ex        *Example
	counts    map[redact.Kind]int
	exactHash uint64
	sig       signature
}

// process does the per-leaf work; it runs on the workers, in any order.
func (o *Options) process(it *item) {
	r, f, msgs := it.rec, &o.Filter, it.msgs
	nTurns, nChars := turns(msgs), chars(msgs)
	switch {
	case f.MinTurns > 0 && nTurns < f.MinTurns, f.MaxTurns > 0 && nTurns > f.MaxTurns:
		it.drop = "turns"
		return
	case f.MinChars > 0 && nChars < f.MinChars, f.MaxChars > 0 && nChars > f.MaxChars:
		it.drop = "length"
		return
	}
	root := rootHash(msgs, o.Seed)
	if f.Sample > 0 && f.Sample < 1 && float64(root>>11)/float64(1<<53) >= f.Sample {
		it.drop = "sample"
		return
	}
	lang := Language(msgs)
	if len(f.Languages) > 0 && !slices.Contains(f.Languages, lang) {
		it.drop = "language"
		return
	}
	n := 0
	if o.Redactor != nil {
		s := o.Redactor.NewSession(r.Country)
		for i := range msgs {
			if !o.reasoning {
				msgs[i].Reasoning = ""
			}
			if msgs[i].Role == "user" {
				msgs[i].Name = "" // a participant's name, which no detector reads as one
			}
			msgs[i].Content, _ = s.Redact(msgs[i].Content)
			msgs[i].Reasoning, _ = s.Redact(msgs[i].Reasoning)
			for j := range msgs[i].ToolCalls {
				msgs[i].ToolCalls[j].Arguments, _ = s.RedactJSON(msgs[i].ToolCalls[j].Arguments) // JSON as written
			}
		}
		n, it.counts = s.Replaced(), s.Counts()
	}
	split := "train"
	if o.TestFraction > 0 && float64(mix(root^0x7e57)>>11)/float64(1<<53) < o.TestFraction {
		split = "test"
	}
	it.ex = &Example{
		ID: ExampleID(o.IDKey, r.ID), Split: split, Messages: msgs,
		Hour: r.ReceivedAt.UTC().Truncate(time.Hour), Model: r.Model, Surface: string(r.Surface),
		Country: r.Country, ClientFamily: ClientFamily(r.UserAgent), Language: lang, Turns: nTurns,
		PromptTokens: r.Usage.PromptTokens, CompletionTokens: r.Usage.CompletionTokens,
		CachedTokens: r.Usage.CachedTokens, ReasoningTokens: r.Usage.ReasoningTokens,
		Chars: nChars, Redactions: n,
	}
	if !o.NoDedup {
		it.exactHash, it.sig = prepareDedup(msgs)
	}
	it.rec, it.msgs = nil, nil // the record's memory can go
}

// rootHash hashes the start of a conversation, up to its first user
// message, with the seed: what sampling and the split are decided on, so
// that every branch of a conversation goes the same way.
func rootHash(msgs []Message, seed uint64) uint64 {
	h := mix(seed + 0x9e3779b97f4a7c15)
	for i := range msgs {
		h = chain(h, splitHash(&msgs[i]))
		if msgs[i].Role == "user" {
			break
		}
	}
	return h
}

// pipeline runs produce, which emits items; batches of them are
// processed by workers goroutines and handed to consume in the order they
// were emitted. At most 2×workers batches are in flight, which bounds
// memory.
func pipeline(ctx context.Context, workers int, produce func(emit func(item) error) error,
	work func(*item), consume func(*item) error) error {
	const batchSize = 256
	type batch struct {
		items []item
		done  chan struct{}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan *batch, workers)
	ordered := make(chan *batch, 2*workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for b := range jobs {
				for i := range b.items {
					work(&b.items[i])
				}
				close(b.done)
			}
		})
	}
	consumeErr := make(chan error, 1)
	go func() {
		var err error
		for b := range ordered {
			<-b.done
			for i := range b.items {
				if err == nil {
					err = consume(&b.items[i])
				}
			}
			if err != nil {
				cancel() // stop the producer; keep draining so it never blocks
			}
		}
		consumeErr <- err
	}()
	cur := &batch{done: make(chan struct{})}
	send := func() error {
		select {
		case ordered <- cur:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case jobs <- cur:
		case <-ctx.Done():
			close(cur.done) // ordered holds it: let the consumer pass it
			return ctx.Err()
		}
		cur = &batch{done: make(chan struct{})}
		return nil
	}
	err := produce(func(it item) error {
		cur.items = append(cur.items, it)
		if len(cur.items) == batchSize {
			return send()
		}
		return nil
	})
	if err == nil && len(cur.items) > 0 {
		err = send()
	}
	close(jobs)
	wg.Wait()
	close(ordered)
	if cerr := <-consumeErr; cerr != nil {
		return cerr // the first cause; err is then the cancellation it led to
	}
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

// ticker rate-limits progress reports.
type ticker struct {
	fn   func(Progress)
	last time.Time
}

func newTicker(fn func(Progress)) *ticker { return &ticker{fn: fn} }

func (t *ticker) tick(p Progress) {
	if t.fn == nil || p.Done%512 != 0 {
		return
	}
	if now := time.Now(); now.Sub(t.last) >= 100*time.Millisecond {
		t.last = now
		t.fn(p)
	}
}

func (t *ticker) flush(p Progress) {
	if t.fn != nil {
		t.fn(p)
	}
}
