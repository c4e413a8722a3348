package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/dataset"
	"github.com/lyumen/lyumen/dataset/parquet"
	"github.com/lyumen/lyumen/redact"
)

// export writes a training set from the store: lyumen export --format
// jsonl|sharegpt|parquet --out DIR [filters].
func export(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sa := storeFlags(fs)
	format := fs.String("format", "jsonl", "jsonl (OpenAI fine-tuning), sharegpt or parquet (Hugging Face)")
	out := fs.String("out", "", "output directory (must not exist or be empty)")
	var f filterFlags
	f.register(fs)
	seed := fs.Uint64("seed", 1, "seed for --sample and the split")
	testFraction := fs.Float64("test-fraction", 0, "fraction of conversations in the test split (by hash of the conversation)")
	k := fs.Int("k", 10, "release a country only when at least k exported conversations have it")
	noRedact := fs.Bool("no-redact", false, "export the text as stored: no anonymization (secrets are scrubbed before storage when the gateway runs with redact_secrets, its default)")
	keep := fs.String("keep", "", "comma-separated kinds not to redact, e.g. IP,PHONE (of: "+kindNames()+")")
	noDedup := fs.Bool("no-dedup", false, "keep exact and near duplicates")
	shardMB := fs.Int64("shard-mb", dataset.DefaultShardBytes>>20, "maximum size of one output file, in MiB")
	license := fs.String("license", "other", "license id for the dataset card")
	name := fs.String("name", "", "dataset name for the card")
	progress := fs.String("progress", "auto", "auto (a bar on a terminal, lines otherwise), bar, lines or none")
	memMB := fs.Int64("memory-limit-mb", 320, "soft memory limit for the Go runtime (GOMEMLIMIT, when set, wins); 0: none")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *memMB > 0 && getenv("GOMEMLIMIT") == "" {
		// The export's state grows only with the number of conversations;
		// the rest is garbage from decoding, which a limit makes the
		// collector reclaim before the heap doubles.
		debug.SetMemoryLimit(*memMB << 20)
	}
	if *out == "" {
		return errors.New("export: --out DIR is required")
	}
	dfmt := dataset.Format(*format)
	if dfmt != dataset.OpenAI && dfmt != dataset.ShareGPT && dfmt != dataset.Parquet {
		return fmt.Errorf("export: --format %q: want jsonl, sharegpt or parquet", *format)
	}
	filter, err := f.filter()
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := emptyDir(*out); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	var red *redact.Redactor
	if !*noRedact {
		kinds, err := kindsBut(*keep)
		if err != nil {
			return fmt.Errorf("export: --keep: %w", err)
		}
		if red, err = redact.New(redact.Options{Kinds: kinds}); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	}
	src, closeStore, err := openSource(ctx, sa, getenv)
	if err != nil {
		return err
	}
	defer closeStore()

	var sink dataset.Sink
	if dfmt == dataset.Parquet {
		sink, err = parquet.New(*out, *shardMB<<20)
	} else {
		sink, err = dataset.NewJSONL(*out, dfmt, *shardMB<<20)
	}
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	pr := newProgressPrinter(stderr, *progress, "export")
	st, err := dataset.Export(ctx, src, sink, dataset.Options{
		Filter: filter, Redactor: red, NoDedup: *noDedup, TestFraction: *testFraction, Seed: *seed, K: *k,
		OnProgress: pr.print,
	})
	pr.done()
	if err != nil {
		return err
	}
	if err := dataset.WriteFiles(*out, dataset.Card{Name: *name, License: *license, Format: dfmt}, st); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	fmt.Fprintf(stdout, "%s: %d conversations (%d records read, %d collapsed into longer ones, %d exact and %d near duplicates dropped) in %s\n",
		*out, st.Examples, st.Scanned, st.Collapsed, st.ExactDuplicates, st.NearDuplicates, st.Duration.Round(time.Millisecond))
	return nil
}

// filterFlags are the selection flags export and stats share.
type filterFlags struct {
	from, to, models, countries, languages, surfaces, status string
	minTurns, maxTurns, minChars, maxChars                   int
	sample                                                   float64
}

func (f *filterFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.from, "from", "", "first time included: RFC 3339 or YYYY-MM-DD (UTC)")
	fs.StringVar(&f.to, "to", "", "first time excluded: RFC 3339 or YYYY-MM-DD (UTC)")
	fs.StringVar(&f.models, "models", "", "comma-separated models (as clients asked)")
	fs.StringVar(&f.countries, "countries", "", "comma-separated ISO 3166-1 alpha-2 countries")
	fs.StringVar(&f.languages, "languages", "", "comma-separated ISO 639-1 languages (as detected)")
	fs.StringVar(&f.surfaces, "surfaces", "", "comma-separated surfaces, e.g. openai.chat,anthropic.messages")
	fs.StringVar(&f.status, "status", "complete", "comma-separated completeness: complete, client_disconnected, upstream_failed, upstream_refused, interrupted; all for every one")
	fs.IntVar(&f.minTurns, "min-turns", 0, "minimum user turns")
	fs.IntVar(&f.maxTurns, "max-turns", 0, "maximum user turns (0: no limit)")
	fs.IntVar(&f.minChars, "min-chars", 0, "minimum characters of text")
	fs.IntVar(&f.maxChars, "max-chars", 0, "maximum characters of text (0: no limit)")
	fs.Float64Var(&f.sample, "sample", 0, "keep this fraction of conversations, chosen by hash with --seed (0: all)")
}

func (f *filterFlags) filter() (dataset.Filter, error) {
	var out dataset.Filter
	var err error
	if out.From, err = parseTime(f.from); err != nil {
		return out, fmt.Errorf("--from: %w", err)
	}
	if out.To, err = parseTime(f.to); err != nil {
		return out, fmt.Errorf("--to: %w", err)
	}
	out.Models, out.Countries, out.Languages, out.Surfaces = list(f.models), list(f.countries), list(f.languages), list(f.surfaces)
	for i, c := range out.Countries {
		out.Countries[i] = strings.ToUpper(c)
	}
	if f.status != "all" {
		for _, s := range list(f.status) {
			c := lyumen.Completeness(s)
			if !slices.Contains(lyumen.Completenesses(), c) {
				return out, fmt.Errorf("--status: unknown %q", s)
			}
			out.Completeness = append(out.Completeness, c)
		}
	} else {
		out.Completeness = lyumen.Completenesses()
	}
	out.MinTurns, out.MaxTurns, out.MinChars, out.MaxChars, out.Sample = f.minTurns, f.maxTurns, f.minChars, f.maxChars, f.sample
	if f.sample < 0 || f.sample > 1 {
		return out, errors.New("--sample: want a fraction between 0 and 1")
	}
	return out, nil
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339, s)
}

func list(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func kindNames() string {
	var names []string
	for _, k := range redact.Kinds() {
		names = append(names, string(k))
	}
	return strings.Join(names, ", ")
}

// kindsBut returns every redaction kind except those listed.
func kindsBut(keep string) ([]redact.Kind, error) {
	off := map[redact.Kind]bool{}
	for _, s := range list(keep) {
		k, err := redact.ParseKind(s)
		if err != nil {
			return nil, err
		}
		off[k] = true
	}
	kinds := []redact.Kind{} // not nil, which redact.New reads as every kind
	for _, k := range redact.Kinds() {
		if !off[k] {
			kinds = append(kinds, k)
		}
	}
	return kinds, nil
}

func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("%s is not empty", dir)
	}
	return nil
}

// source is a store export and stats can read.
type source interface {
	dataset.Source
	dataset.ConversationSource
}

// openSource opens the configured store for reading.
func openSource(ctx context.Context, sa storeArgs, getenv func(string) string) (source, func(), error) {
	db, url, err := sa.open(ctx, getenv, false)
	if err != nil {
		return nil, nil, err
	}
	src, ok := db.(source)
	if !ok {
		db.Close()
		return nil, nil, fmt.Errorf("store %s cannot be scanned", redactURL(url))
	}
	return src, func() { db.Close() }, nil
}

// progressPrinter shows progress: a bar redrawn in place on a
// terminal, a plain line every few seconds otherwise.
type progressPrinter struct {
	w       io.Writer
	mode    string // bar, lines or none
	what    string
	start   time.Time
	lastOut time.Time
	drawn   bool
}

func newProgressPrinter(w io.Writer, mode, what string) *progressPrinter {
	if mode == "auto" {
		mode = "lines"
		if f, ok := w.(*os.File); ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())) {
			mode = "bar"
		}
	}
	return &progressPrinter{w: w, mode: mode, what: what, start: time.Now()}
}

func (p *progressPrinter) print(pg dataset.Progress) {
	if p.mode == "none" {
		return
	}
	now := time.Now()
	if p.mode == "lines" && now.Sub(p.lastOut) < 2*time.Second && !(pg.Total > 0 && pg.Done == pg.Total) {
		return
	}
	p.lastOut = now
	elapsed := now.Sub(p.start).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(pg.Done) / elapsed
	}
	eta := ""
	if pg.Total > 0 && rate > 0 && pg.Done <= pg.Total {
		eta = " ETA " + (time.Duration(float64(pg.Total-pg.Done)/rate) * time.Second).Round(time.Second).String()
	}
	count := fmt.Sprintf("%d", pg.Done)
	if pg.Total > 0 {
		count = fmt.Sprintf("%d/%d", pg.Done, pg.Total)
	}
	written := ""
	if pg.Written > 0 {
		written = fmt.Sprintf(", %d written", pg.Written)
	}
	switch p.mode {
	case "bar":
		bar := ""
		if pg.Total > 0 {
			const width = 30
			n := int(width * min(1, float64(pg.Done)/float64(pg.Total)))
			bar = "[" + strings.Repeat("=", n) + strings.Repeat(" ", width-n) + "] "
		}
		fmt.Fprintf(p.w, "\r\033[K%s %s%s records %.0f/s%s%s", p.what, bar, count, rate, written, eta)
		p.drawn = true
	case "lines":
		fmt.Fprintf(p.w, "%s: %s records, %.0f/s%s%s\n", p.what, count, rate, written, eta)
	}
}

func (p *progressPrinter) done() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}
