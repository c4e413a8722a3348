package dataset

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// Format is an output format.
type Format string

// The formats Export writes; Parquet comes from package dataset/parquet.
const (
	OpenAI   Format = "jsonl"    // OpenAI fine-tuning chat format: {"messages":[…]}
	ShareGPT Format = "sharegpt" // {"id", "conversations":[{"from","value"}], metadata}
	Parquet  Format = "parquet"
)

// DefaultShardBytes bounds each output file: Hugging Face recommends
// Parquet files of a few hundred megabytes at most.
const DefaultShardBytes = 256 << 20

// ShardPath is where shard i of a split is written, before
// RenameShards gives it its final "-of-N" name:
// dir/data/train-00000.ext.
func ShardPath(dir, split string, i int, ext string) string {
	return filepath.Join(dir, "data", fmt.Sprintf("%s-%05d.%s", split, i, ext))
}

// RenameShards renames every split's shards to the Hugging Face pattern
// data/train-00000-of-00003.ext, now that their number is known.
func RenameShards(dir, ext string, shards map[string]int) error {
	var errs []error
	for split, n := range shards {
		for i := range n {
			final := filepath.Join(dir, "data", fmt.Sprintf("%s-%05d-of-%05d.%s", split, i, n, ext))
			if err := os.Rename(ShardPath(dir, split, i, ext), final); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// JSONL writes OpenAI or ShareGPT JSON lines, one file set per split, each
// file at most MaxBytes (a line is never split).
type JSONL struct {
	dir      string
	format   Format
	maxBytes int64
	files    map[string]*shardFile
	shards   map[string]int
}

type shardFile struct {
	f *os.File
	w *bufio.Writer
	n int64
}

// NewJSONL writes into dir/data/. maxBytes ≤ 0 takes DefaultShardBytes.
func NewJSONL(dir string, format Format, maxBytes int64) (*JSONL, error) {
	if format != OpenAI && format != ShareGPT {
		return nil, fmt.Errorf("jsonl: unknown format %q", format)
	}
	if maxBytes <= 0 {
		maxBytes = DefaultShardBytes
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return nil, fmt.Errorf("jsonl: %w", err)
	}
	return &JSONL{dir: dir, format: format, maxBytes: maxBytes, files: map[string]*shardFile{}, shards: map[string]int{}}, nil
}

// Write appends one example to its split.
func (j *JSONL) Write(ex *Example) error {
	var line []byte
	var err error
	if j.format == OpenAI {
		line, err = json.Marshal(OpenAILine(ex))
	} else {
		line, err = json.Marshal(ShareGPTLine(ex))
	}
	if err != nil {
		return err
	}
	line = append(line, '\n')
	sf := j.files[ex.Split]
	if sf != nil && sf.n > 0 && sf.n+int64(len(line)) > j.maxBytes {
		if err := sf.close(); err != nil {
			return err
		}
		sf = nil
	}
	if sf == nil {
		f, err := os.Create(ShardPath(j.dir, ex.Split, j.shards[ex.Split], "jsonl"))
		if err != nil {
			return err
		}
		j.shards[ex.Split]++
		sf = &shardFile{f: f, w: bufio.NewWriterSize(f, 1<<20)}
		j.files[ex.Split] = sf
	}
	n, err := sf.w.Write(line)
	sf.n += int64(n)
	return err
}

func (sf *shardFile) close() error {
	err := sf.w.Flush()
	if cerr := sf.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Close flushes the files and gives them their final names.
func (j *JSONL) Close() error {
	var errs []error
	for _, split := range slices.Sorted(mapsKeys(j.files)) {
		errs = append(errs, j.files[split].close())
	}
	j.files = map[string]*shardFile{}
	errs = append(errs, RenameShards(j.dir, "jsonl", j.shards))
	return errors.Join(errs...)
}

// Shards returns how many files each split has.
func (j *JSONL) Shards() map[string]int { return j.shards }

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// openAIMessage is a message in OpenAI's chat fine-tuning format.
type openAIMessage struct {
	Role       string           `json:"role"`
	Content    *string          `json:"content,omitempty"`
	Name       string           `json:"name,omitempty"`
	ToolCalls  []openAIToolCall `json:"tool_calls,omitempty"`
	ToolCallID string           `json:"tool_call_id,omitempty"`
}

type openAIToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// OpenAILine is one line of OpenAI's chat fine-tuning format: only
// "messages" (the format has no room for metadata; ShareGPT and Parquet
// carry it). An assistant message that only calls tools has no content.
func OpenAILine(ex *Example) any {
	msgs := make([]openAIMessage, len(ex.Messages))
	for i, m := range ex.Messages {
		om := openAIMessage{Role: m.Role, Name: m.Name, ToolCallID: m.ToolCallID}
		if m.Content != "" || len(m.ToolCalls) == 0 {
			c := m.Content
			om.Content = &c
		}
		for _, tc := range m.ToolCalls {
			otc := openAIToolCall{ID: tc.ID, Type: "function"}
			otc.Function.Name, otc.Function.Arguments = tc.Name, tc.Arguments
			om.ToolCalls = append(om.ToolCalls, otc)
		}
		msgs[i] = om
	}
	return struct {
		Messages []openAIMessage `json:"messages"`
	}{msgs}
}

// shareGPTRoles maps roles to ShareGPT's "from".
var shareGPTRoles = map[string]string{"system": "system", "user": "human", "assistant": "gpt", "tool": "tool"}

type shareGPTTurn struct {
	From  string `json:"from"`
	Value string `json:"value"`
}

// ShareGPTLine is one line of ShareGPT JSONL, with the metadata beside the
// conversation. Tool calls are written as their JSON in the gpt turn.
func ShareGPTLine(ex *Example) any {
	turns := make([]shareGPTTurn, 0, len(ex.Messages))
	for _, m := range ex.Messages {
		from, ok := shareGPTRoles[m.Role]
		if !ok {
			from = m.Role
		}
		v := m.Content
		if len(m.ToolCalls) > 0 {
			calls, _ := json.Marshal(m.ToolCalls)
			if v != "" {
				v += "\n"
			}
			v += string(calls)
		}
		turns = append(turns, shareGPTTurn{From: from, Value: v})
	}
	return struct {
		ID            string         `json:"id"`
		Conversations []shareGPTTurn `json:"conversations"`
		Example
	}{ex.ID, turns, exampleMeta(ex)}
}

// exampleMeta is ex without its messages, for embedding beside them.
func exampleMeta(ex *Example) Example {
	m := *ex
	m.Messages = nil
	return m
}
