// Package parquet writes datasets as Parquet laid out the way Hugging Face
// datasets expect: data/train-00000-of-00002.parquet, a `messages` column
// (a list of role/content structs) beside the metadata columns, zstd
// compression, shards of bounded size. It lives apart from package dataset
// so that the Parquet dependency stays out of everything else.
package parquet

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	pq "github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/lyumen/lyumen/dataset"
)

// Row is one example as stored; the column names are the JSON names of
// dataset.Example.
type Row struct {
	ID               string    `parquet:"id"`
	Messages         []Message `parquet:"messages,list"`
	Hour             int64     `parquet:"hour,timestamp(millisecond)"` // UTC
	Model            string    `parquet:"model,dict"`
	Surface          string    `parquet:"surface,dict"`
	Country          string    `parquet:"country,dict"`
	ClientFamily     string    `parquet:"client_family,dict"`
	Language         string    `parquet:"language,dict"`
	Turns            int32     `parquet:"turns"`
	PromptTokens     int64     `parquet:"prompt_tokens"`
	CompletionTokens int64     `parquet:"completion_tokens"`
	CachedTokens     int64     `parquet:"cached_tokens"`
	ReasoningTokens  int64     `parquet:"reasoning_tokens"`
	Chars            int64     `parquet:"chars"`
	Redactions       int32     `parquet:"redactions"`
}

// Message is one element of the messages column.
type Message struct {
	Role       string     `parquet:"role,dict"`
	Content    string     `parquet:"content"`
	Reasoning  string     `parquet:"reasoning"`
	Name       string     `parquet:"name"`
	ToolCalls  []ToolCall `parquet:"tool_calls,list"`
	ToolCallID string     `parquet:"tool_call_id"`
}

// ToolCall is one element of a message's tool_calls.
type ToolCall struct {
	ID        string `parquet:"id"`
	Name      string `parquet:"name"`
	Arguments string `parquet:"arguments"`
}

// RowOf converts an example.
func RowOf(ex *dataset.Example) Row {
	r := Row{
		ID: ex.ID, Hour: ex.Hour.UTC().UnixMilli(), Model: ex.Model, Surface: ex.Surface, Country: ex.Country,
		ClientFamily: ex.ClientFamily, Language: ex.Language, Turns: int32(ex.Turns),
		PromptTokens: int64(ex.PromptTokens), CompletionTokens: int64(ex.CompletionTokens),
		CachedTokens: int64(ex.CachedTokens), ReasoningTokens: int64(ex.ReasoningTokens),
		Chars: int64(ex.Chars), Redactions: int32(ex.Redactions),
		Messages: make([]Message, len(ex.Messages)),
	}
	for i, m := range ex.Messages {
		pm := Message{Role: m.Role, Content: m.Content, Reasoning: m.Reasoning, Name: m.Name, ToolCallID: m.ToolCallID}
		for _, tc := range m.ToolCalls {
			pm.ToolCalls = append(pm.ToolCalls, ToolCall(tc))
		}
		r.Messages[i] = pm
	}
	return r
}

// Row groups are flushed at this many rows or this many bytes of text,
// whichever comes first: it bounds the writer's memory and how far a shard
// may pass its limit.
const (
	groupRows  = 5_000
	groupBytes = 16 << 20
)

// Writer is a dataset.Sink that writes Parquet shards.
type Writer struct {
	dir      string
	maxBytes int64
	open     map[string]*shard
	shards   map[string]int
}

type shard struct {
	f       *os.File
	cw      *countWriter
	w       *pq.GenericWriter[Row]
	rows    int   // since the last flush
	pending int64 // text bytes since the last flush
	buf     []Row
}

// New writes into dir/data/; maxBytes ≤ 0 takes dataset.DefaultShardBytes.
// A shard is closed once what it has written reaches maxBytes, checked at
// each row group, so a file may pass it by at most one compressed row group.
func New(dir string, maxBytes int64) (*Writer, error) {
	if maxBytes <= 0 {
		maxBytes = dataset.DefaultShardBytes
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return nil, fmt.Errorf("parquet: %w", err)
	}
	return &Writer{dir: dir, maxBytes: maxBytes, open: map[string]*shard{}, shards: map[string]int{}}, nil
}

var _ dataset.Sink = (*Writer)(nil)

// zstdFastest is zstd at level 1, the level Arrow (pyarrow, and through it
// Hugging Face datasets) writes by default. Against klauspost's default
// (level 3) it cut the 1M export's CPU by about 5% for files 9% larger
// (bench/RESULTS.md, "Sixth session").
var zstdFastest = zstd.Codec{Level: zstd.SpeedFastest}

// WritesReasoning says the messages' reasoning has a column here.
func (w *Writer) WritesReasoning() bool { return true }

// Write adds one example to its split.
func (w *Writer) Write(ex *dataset.Example) error {
	s := w.open[ex.Split]
	if s == nil {
		f, err := os.Create(dataset.ShardPath(w.dir, ex.Split, w.shards[ex.Split], "parquet"))
		if err != nil {
			return fmt.Errorf("parquet: %w", err)
		}
		w.shards[ex.Split]++
		cw := &countWriter{w: f}
		s = &shard{f: f, cw: cw, w: pq.NewGenericWriter[Row](cw,
			pq.Compression(&zstdFastest),
			pq.CreatedBy("lyumen", "", ""),
			pq.KeyValueMetadata("lyumen.split", ex.Split),
		)}
		w.open[ex.Split] = s
	}
	r := RowOf(ex)
	s.buf = append(s.buf, r)
	s.rows++
	for _, m := range r.Messages {
		s.pending += int64(len(m.Content) + len(m.Reasoning))
		for _, tc := range m.ToolCalls { // an agent's write_file carries a whole file
			s.pending += int64(len(tc.ID) + len(tc.Name) + len(tc.Arguments))
		}
	}
	if len(s.buf) >= 256 {
		if _, err := s.w.Write(s.buf); err != nil {
			return fmt.Errorf("parquet: %w", err)
		}
		s.buf = s.buf[:0]
	}
	if s.rows >= groupRows || s.pending >= groupBytes {
		if err := s.flush(); err != nil {
			return err
		}
		if s.cw.n >= w.maxBytes {
			delete(w.open, ex.Split)
			return s.close()
		}
	}
	return nil
}

func (s *shard) flush() error {
	if len(s.buf) > 0 {
		if _, err := s.w.Write(s.buf); err != nil {
			return fmt.Errorf("parquet: %w", err)
		}
		s.buf = s.buf[:0]
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("parquet: %w", err)
	}
	s.rows, s.pending = 0, 0
	return nil
}

func (s *shard) close() error {
	err := s.flush()
	if cerr := s.w.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("parquet: %w", cerr)
	}
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Close finishes every shard and gives the files their final names.
func (w *Writer) Close() error {
	var errs []error
	for split, s := range w.open {
		errs = append(errs, s.close())
		delete(w.open, split)
	}
	errs = append(errs, dataset.RenameShards(w.dir, "parquet", w.shards))
	return errors.Join(errs...)
}

// Shards returns how many files each split has.
func (w *Writer) Shards() map[string]int { return w.shards }

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
