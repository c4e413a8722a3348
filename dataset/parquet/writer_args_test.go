package parquet_test

import (
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lyumen/lyumen/dataset"
	"github.com/lyumen/lyumen/dataset/parquet"
)

// A row group is flushed at groupBytes (16 MiB) of text, tool-call
// arguments counted (an agent's write_file carries whole files): counted
// over content and reasoning only, arguments were held in memory without
// bound, and one 54 MiB shard passed --shard-mb 1.
func TestWriter_ToolArgumentsBoundRowGroups(t *testing.T) {
	dir := t.TempDir()
	const maxBytes = 1 << 20
	w, err := parquet.New(dir, maxBytes)
	if err != nil {
		t.Fatal(err)
	}
	raw := make([]byte, 192<<10)
	for range 200 { // 200 × 256 KiB of arguments, 50 MiB
		rand.Read(raw)
		ex := &dataset.Example{ID: "x", Split: "train", Hour: time.Unix(0, 0), Messages: []dataset.Message{
			{Role: "user", Content: "write the file"},
			{Role: "assistant", ToolCalls: []dataset.ToolCall{{ID: "c", Name: "write_file",
				Arguments: `{"content":"` + base64.StdEncoding.EncodeToString(raw) + `"}`}}},
		}}
		if err := w.Write(ex); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "data", "*.parquet"))
	for _, f := range files {
		st, _ := os.Stat(f)
		if st.Size() > maxBytes+18<<20 { // a row group of random base64 does not compress
			t.Errorf("%s: %d MiB, over --shard-mb (1) plus one row group; %d files", filepath.Base(f), st.Size()>>20, len(files))
		}
	}
}
