package parquet_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen/dataset"
	"github.com/lyumen/lyumen/dataset/datasettest"
	"github.com/lyumen/lyumen/dataset/parquet"
	"github.com/lyumen/lyumen/redact"
)

// hyparquet returns the command that reads a Parquet file with hyparquet,
// or skips: the reader is installed by testdata/reader/install.sh, which
// .ci/run calls.
func hyparquet(tb testing.TB) func(path string) []byte {
	tb.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		tb.Skip("node not found: the independent Parquet reader (hyparquet) needs it")
	}
	dir, _ := filepath.Abs(filepath.Join("testdata", "reader"))
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "hyparquet")); err != nil {
		tb.Skip("hyparquet not installed: run dataset/parquet/testdata/reader/install.sh")
	}
	return func(path string) []byte {
		tb.Helper()
		var stderr bytes.Buffer
		cmd := exec.CommandContext(tb.Context(), node, filepath.Join(dir, "read.mjs"), path)
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			tb.Fatalf("hyparquet: %v\n%s", err, stderr.String())
		}
		return out
	}
}

func examples(n int) []*dataset.Example {
	var out []*dataset.Example
	for i := range n {
		ex := &dataset.Example{
			ID: fmt.Sprintf("0197%04d-0000-7000-8000-000000000000", i), Split: "train",
			Messages: []dataset.Message{
				{Role: "system", Content: "Be brief."},
				{Role: "user", Content: fmt.Sprintf("Question %d: what's 2+2? Ünïcödé ✓ \"quotes\" <tags> & [EMAIL_1]", i)},
				{Role: "assistant", Content: strings.Repeat("four ", i%7+1), Reasoning: strings.Repeat("Two and two. ", i%3)},
			},
			Hour: time.Date(2026, 5, 4, 10+i%5, 0, 0, 0, time.UTC), Model: "gpt-4o", Surface: "openai.chat",
			Country: []string{"DE", "", "FR"}[i%3], ClientFamily: "openai-sdk", Language: "en",
			Turns: 1, PromptTokens: 12 + i, CompletionTokens: 3 + i%4, CachedTokens: i % 3 * 4, ReasoningTokens: i % 4, Chars: 60 + i, Redactions: i % 2,
		}
		if i%4 == 1 {
			ex.Split = "test"
		}
		if i%5 == 2 {
			ex.Messages = append(ex.Messages[:2],
				dataset.Message{Role: "assistant", ToolCalls: []dataset.ToolCall{{ID: "call_1", Name: "calc", Arguments: `{"expr":"2+2"}`}}},
				dataset.Message{Role: "tool", Content: "4", ToolCallID: "call_1"},
				dataset.Message{Role: "assistant", Content: "4"})
		}
		out = append(out, ex)
	}
	return out
}

// hfRow is a row as hyparquet reads it, in JSON.
type hfRow struct {
	ID       string `json:"id"`
	Messages []struct {
		Role       string `json:"role"`
		Content    string `json:"content"`
		Reasoning  string `json:"reasoning"`
		Name       string `json:"name"`
		ToolCallID string `json:"tool_call_id"`
		ToolCalls  []struct {
			ID        string `json:"id"`
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"tool_calls"`
	} `json:"messages"`
	Hour             time.Time `json:"hour"`
	Model            string    `json:"model"`
	Surface          string    `json:"surface"`
	Country          string    `json:"country"`
	ClientFamily     string    `json:"client_family"`
	Language         string    `json:"language"`
	Turns            int       `json:"turns"`
	PromptTokens     int       `json:"prompt_tokens"`
	CompletionTokens int       `json:"completion_tokens"`
	CachedTokens     int       `json:"cached_tokens"`
	ReasoningTokens  int       `json:"reasoning_tokens"`
	Chars            int       `json:"chars"`
	Redactions       int       `json:"redactions"`
}

func toExample(r hfRow, split string) *dataset.Example {
	ex := &dataset.Example{ID: r.ID, Split: split, Hour: r.Hour.UTC(), Model: r.Model, Surface: r.Surface, Country: r.Country,
		ClientFamily: r.ClientFamily, Language: r.Language, Turns: r.Turns, PromptTokens: r.PromptTokens,
		CompletionTokens: r.CompletionTokens, CachedTokens: r.CachedTokens, ReasoningTokens: r.ReasoningTokens, Chars: r.Chars, Redactions: r.Redactions}
	for _, m := range r.Messages {
		dm := dataset.Message{Role: m.Role, Content: m.Content, Reasoning: m.Reasoning, Name: m.Name, ToolCallID: m.ToolCallID}
		for _, tc := range m.ToolCalls {
			dm.ToolCalls = append(dm.ToolCalls, dataset.ToolCall{ID: tc.ID, Name: tc.Name, Arguments: tc.Arguments})
		}
		ex.Messages = append(ex.Messages, dm)
	}
	return ex
}

// TestWriter_RoundTrip writes Parquet with parquet-go and reads it back with
// hyparquet, a reader written independently (JavaScript): every row and
// column must match, the codec must be zstd.
func TestWriter_RoundTrip(t *testing.T) {
	read := hyparquet(t)
	dir := t.TempDir()
	w, err := parquet.New(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	in := examples(500)
	for _, ex := range in {
		if err := w.Write(ex); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var got []*dataset.Example
	for _, split := range []string{"test", "train"} {
		files, _ := filepath.Glob(filepath.Join(dir, "data", split+"-*-of-*.parquet"))
		if len(files) != 1 {
			t.Fatalf("%s files: %v", split, files)
		}
		var out struct {
			Codecs  []string `json:"codecs"`
			Columns []string `json:"columns"`
			Rows    []hfRow  `json:"rows"`
		}
		if err := json.Unmarshal(read(files[0]), &out); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(out.Codecs, []string{"ZSTD"}) {
			t.Errorf("codecs %v, want ZSTD", out.Codecs)
		}
		wantCols := []string{"id", "messages", "hour", "model", "surface", "country", "client_family", "language", "turns",
			"prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens", "chars", "redactions"}
		if !slices.Equal(out.Columns, wantCols) {
			t.Errorf("columns %v, want %v", out.Columns, wantCols)
		}
		for _, r := range out.Rows {
			got = append(got, toExample(r, split))
		}
	}
	want := slices.Clone(in)
	order := func(a, b *dataset.Example) int { return strings.Compare(a.ID, b.ID) }
	slices.SortFunc(want, order)
	slices.SortFunc(got, order)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("hyparquet read back different rows (-written +read):\n%s", diff)
	}
}

// TestWriter_Shards: a small limit gives several shards, each named
// -of-N, none past the limit by more than a row group, all rows kept.
func TestWriter_Shards(t *testing.T) {
	dir := t.TempDir()
	w, err := parquet.New(dir, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	var in []*dataset.Example
	for i, ex := range examples(30000) {
		ex.Split = "train"
		ex.Messages[2].Content = fmt.Sprintf("%d %x", i, i*7919) + ex.Messages[2].Content
		in = append(in, ex)
		if err := w.Write(ex); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "data", "train-*.parquet"))
	if len(files) < 2 {
		t.Fatalf("%d shards, want several", len(files))
	}
	for _, f := range files {
		if !strings.HasSuffix(f, fmt.Sprintf("-of-%05d.parquet", len(files))) {
			t.Errorf("shard %s is not named -of-%05d", f, len(files))
		}
	}
	if n := w.Shards()["train"]; n != len(files) {
		t.Errorf("Shards says %d, files %d", n, len(files))
	}
}

// TestExport_Canary: the planted secrets and personal data appear in no
// Parquet row as hyparquet reads it, nor in the card or stats.
func TestExport_Canary(t *testing.T) {
	read := hyparquet(t)
	r, err := redact.New(redact.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	w, err := parquet.New(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	st, err := dataset.Export(t.Context(), datasettest.Source(datasettest.CanaryRecords()), w, dataset.Options{Redactor: r})
	if err != nil {
		t.Fatal(err)
	}
	if err := dataset.WriteFiles(dir, dataset.Card{Format: dataset.Parquet}, st); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "data", "*.parquet"))
	if len(files) == 0 || st.Examples != 1 {
		t.Fatalf("files %v, %d examples", files, st.Examples)
	}
	decoded := t.TempDir()
	for i, f := range files {
		if err := os.WriteFile(filepath.Join(decoded, fmt.Sprintf("%d.json", i)), read(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"README.md", "stats.json"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(decoded, name), b, 0o644)
	}
	if leaked := datasettest.Leaks(t, decoded, datasettest.Canaries); len(leaked) > 0 {
		t.Errorf("%d of %d planted values leaked: %q", len(leaked), len(datasettest.Canaries), leaked)
	}
}
