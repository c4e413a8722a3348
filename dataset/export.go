// Package dataset builds training sets from the logs: filter → thread →
// redact → dedup → split → write, streaming over the store.
//
// Export reads the store twice. The first pass threads: it collects the
// hash of every conversation prefix, so that the second can tell the
// leaves of each chain (see thread.go). The second pass keeps the leaves,
// applies the conversation filters, detects the language, anonymizes,
// drops exact and near duplicates (see dedup.go), assigns the split and
// hands each Example to a Sink: the JSONL writers here, Parquet in package
// dataset/parquet.
//
// Memory does not grow with the records' content, only with their number:
// 16 bytes per prefix in the thread set and per leaf in the leaf set, and
// about 400 bytes of dedup state per exported conversation; the first
// pass's 18 bytes per record go to a temporary file. The tables live in
// temporary files mapped into memory, and past Options.StateMemory their
// pages are released to the page cache (see state.go), so the process's
// memory stays bounded however large the store.
package dataset

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/redact"
)

// Source streams the store's records; sqlite.DB and postgres.DB have it.
type Source interface {
	// Scan calls fn with every record received in [from, to), in order of
	// received_at then id; a zero bound is open.
	Scan(ctx context.Context, from, to time.Time, fn func(*lyumen.Record) error) error
}

// SelectiveSource is a Source that can skip records by id before reading
// them whole; Export's second pass then reads only the leaves.
type SelectiveSource interface {
	Source
	ScanSelected(ctx context.Context, from, to time.Time, keep func(id string) bool, fn func(*lyumen.Record) error) error
}

// ConversationSource is a store that can read only what Export needs: a
// record's id, received_at, surface, model, usage, user agent, country,
// completeness, its conversation's messages and its response's choices,
// the rest left zero. Export then uses it for both passes, instead of Scan
// and ScanSelected.
type ConversationSource interface {
	ScanConversations(ctx context.Context, from, to time.Time, keep func(id string) bool, fn func(*lyumen.Record) error) error
}

// idHash is what the leaf set keeps of a record id.
func idHash(id string) uint64 { return mix(fnvAdd(fnvOffset, id)) }

// Sink receives the exported examples in order.
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
	// current pass is.
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
}

// DefaultStateMemory is Options.StateMemory's default.
const DefaultStateMemory = 128 << 20

// Progress is how far a pass is.
type Progress struct {
	Pass    int   // 1: threading, 2: export
	Done    int64 // records read in this pass
	Total   int64 // records the pass will read; 0 when unknown
	Written int64 // examples written so far
}

// Export runs the pipeline from src to sink and returns the statistics.
func Export(ctx context.Context, src Source, sink Sink, o Options) (st *Stats, err error) {
	defer func() {
		if cerr := sink.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	o = o.withDefaults()
	f := o.Filter
	st = newStats(o)
	started := time.Now()

	// Pass 1: thread, and count the records dropped on their own fields.
	mem := newArena(o.TempDir, o.StateMemory)
	defer func() {
		if cerr := mem.close(); cerr != nil && err == nil {
			err = fmt.Errorf("export: state: %w", cerr)
		}
	}()
	tlog, err := newThreadLog(o.TempDir) // per record passing the record filters: its transcript's hash, its id's, its country
	if err != nil {
		return st, err
	}
	defer tlog.close()
	var (
		prefixes  = hashSet{a: mem}
		countries = map[string]uint16{}
		names     []string
		n1        int64
	)
	prog := newTicker(o.OnProgress)
	var total1 int64 // known when the store counts and no time range is set
	if c, ok := src.(interface {
		Count(ctx context.Context) (int64, error)
	}); ok && f.From.IsZero() && f.To.IsZero() {
		total1, _ = c.Count(ctx) // only for the progress bar
	}
	scan1 := src.Scan
	if cs, ok := src.(ConversationSource); ok {
		scan1 = func(ctx context.Context, from, to time.Time, fn func(*lyumen.Record) error) error {
			return cs.ScanConversations(ctx, from, to, nil, fn)
		}
	}
	err = scan1(ctx, f.From, f.To, func(r *lyumen.Record) error {
		n1++
		prog.tick(Progress{Pass: 1, Done: n1, Total: total1})
		if why := f.rejectRecord(r); why != "" {
			st.Dropped[why]++
			return nil
		}
		msgs, ok := transcript(r)
		if !ok {
			st.Dropped["no_answer"]++
			return nil
		}
		h := prefixHashes(msgs[:len(msgs)-1], func(h uint64) { prefixes.add(h) })
		mem.tick()
		c, ok := countries[r.Country]
		if !ok {
			c = uint16(len(names))
			countries[r.Country] = c
			names = append(names, r.Country)
		}
		return tlog.add(chain(h, messageHash(&msgs[len(msgs)-1])), idHash(r.ID), c)
	})
	if err != nil {
		return st, fmt.Errorf("export: thread: %w", err)
	}
	st.Scanned = n1
	leaves := hashSet{a: mem}
	leafCountries := map[string]int{}
	err = tlog.each(func(t, id uint64, c uint16) {
		mem.tick()
		if prefixes.has(t) {
			st.Collapsed++
			return
		}
		leaves.add(id)
		leafCountries[names[c]]++
	})
	if err != nil {
		return st, err
	}
	st.ThreadBytes = int64(prefixes.bytes() + leaves.bytes())

	// Pass 2: export.
	d := newDeduper(mem)
	var written atomic.Int64 // counted by the writer, read by the scanner for progress
	write := func(it *item) error {
		st.count(it)
		if it.drop != "" {
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
		ex := it.ex
		if leafCountries[ex.Country] < o.K {
			ex.Country = ""
		}
		if err := sink.Write(ex); err != nil {
			return fmt.Errorf("export: write: %w", err)
		}
		written.Add(1)
		st.add(ex, it.counts)
		return nil
	}
	work := func(it *item) { o.process(it, &prefixes) }
	// The second pass reads only the leaves when the store can skip
	// records by id before unpacking them.
	var n2 int64
	total := n1
	scan := src.Scan
	if cs, ok := src.(ConversationSource); ok {
		total = int64(leaves.n)
		scan = func(ctx context.Context, from, to time.Time, fn func(*lyumen.Record) error) error {
			return cs.ScanConversations(ctx, from, to, func(id string) bool { return leaves.has(idHash(id)) }, fn)
		}
	} else if sel, ok := src.(SelectiveSource); ok {
		total = int64(leaves.n)
		scan = func(ctx context.Context, from, to time.Time, fn func(*lyumen.Record) error) error {
			return sel.ScanSelected(ctx, from, to, func(id string) bool { return leaves.has(idHash(id)) }, fn)
		}
	}
	err = pipeline(ctx, o.Workers, func(emit func(*lyumen.Record) error) error {
		return scan(ctx, f.From, f.To, func(r *lyumen.Record) error {
			n2++
			prog.tick(Progress{Pass: 2, Done: n2, Total: total, Written: written.Load()})
			return emit(r)
		})
	}, work, write)
	prog.flush(Progress{Pass: 2, Done: n2, Total: total, Written: written.Load()})
	if err != nil {
		return st, err
	}
	st.DedupBytes = int64(d.bytes())
	st.Duration = time.Since(started)
	if !o.NoDedup {
		p := Params()
		st.Dedup = &p
	}
	return st, nil
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
	return o
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

// item is one record on its way through the second pass.
type item struct {
	rec       *lyumen.Record
	drop      string // why it is not exported, "" if it is
	ex        *Example
	counts    map[redact.Kind]int
	exactHash uint64
	sig       signature
}

// process does the per-record work of the second pass; it runs on the
// workers, in any order.
func (o *Options) process(it *item, prefixes *hashSet) {
	r, f := it.rec, &o.Filter
	if it.drop = f.rejectRecord(r); it.drop != "" {
		return
	}
	msgs, ok := transcript(r)
	if !ok {
		it.drop = "no_answer"
		return
	}
	if h := prefixHashes(msgs, nil); prefixes.has(h) {
		it.drop = "continued" // a later record continues this conversation
		return
	}
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
			msgs[i].Content, _ = s.Redact(msgs[i].Content)
			for j := range msgs[i].ToolCalls {
				msgs[i].ToolCalls[j].Arguments, _ = s.Redact(msgs[i].ToolCalls[j].Arguments)
			}
		}
		n, it.counts = s.Replaced(), s.Counts()
	}
	split := "train"
	if o.TestFraction > 0 && float64(mix(root^0x7e57)>>11)/float64(1<<53) < o.TestFraction {
		split = "test"
	}
	it.ex = &Example{
		ID: r.ID, Split: split, Messages: msgs,
		Hour: r.ReceivedAt.UTC().Truncate(time.Hour), Model: r.Model, Surface: string(r.Surface),
		Country: r.Country, ClientFamily: ClientFamily(r.UserAgent), Language: lang, Turns: nTurns,
		PromptTokens: r.Usage.PromptTokens, CompletionTokens: r.Usage.CompletionTokens,
		Chars: nChars, Redactions: n,
	}
	if !o.NoDedup {
		it.exactHash, it.sig = prepareDedup(msgs)
	}
	it.rec = nil // the record's memory can go
}

// rootHash hashes the start of a conversation, up to its first user
// message, with the seed: what sampling and the split are decided on, so
// that every branch of a conversation goes the same way.
func rootHash(msgs []Message, seed uint64) uint64 {
	h := mix(seed + 0x9e3779b97f4a7c15)
	for i := range msgs {
		h = chain(h, messageHash(&msgs[i]))
		if msgs[i].Role == "user" {
			break
		}
	}
	return h
}

// pipeline runs produce, which emits records; batches of them are
// processed by workers goroutines and handed to consume in the order they
// were emitted. At most 2×workers batches are in flight, which bounds
// memory.
func pipeline(ctx context.Context, workers int, produce func(emit func(*lyumen.Record) error) error,
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
	err := produce(func(r *lyumen.Record) error {
		cur.items = append(cur.items, item{rec: r})
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
