package sqlite

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lyumen/lyumen"
)

func BenchmarkVariants(b *testing.B) {
	variants := []struct{ name, extra, schemaFrom, schemaTo string }{
		{"default", "", "", ""},
		{"cache32M", "&_pragma=cache_size(-32000)", "", ""},
		{"mmap256M", "&_pragma=mmap_size(268435456)", "", ""},
		{"page8k", "&_pragma=page_size(8192)", "", ""},
		{"page16k", "&_pragma=page_size(16384)", "", ""},
		{"withoutrowid", "", ") STRICT;", ") STRICT, WITHOUT ROWID;"},
		{"nostrict", "", ") STRICT;", ");"},
		{"page16k+cache", "&_pragma=page_size(16384)&_pragma=cache_size(-32000)", "", ""},
	}
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "x.db")
			sdb, err := sql.Open("sqlite", dsn(path)+v.extra)
			if err != nil { b.Fatal(err) }
			defer sdb.Close()
			script, _ := migrations.ReadFile("migration/0001_records.sql")
			s := string(script)
			if v.schemaFrom != "" { s = strings.Replace(s, v.schemaFrom, v.schemaTo, 1) }
			if _, err := sdb.Exec(s); err != nil { b.Fatal(err) }
			db := &DB{db: sdb, path: path}
			var ps int
			sdb.QueryRow("pragma page_size").Scan(&ps)
			batch := make([]*lyumen.Record, 500)
			prompt := strings.Repeat("Summarise the following paragraph in one sentence. ", 27)
			answer := strings.Repeat("The paragraph says <this> & that. ", 14)
			for i := range batch {
				batch[i] = &lyumen.Record{Surface: "openai.chat", Model: "gpt-4o-mini", ServedModel: "gpt-4o-mini-2024-07-18", Provider: "openai", Stream: true, Status: 200,
					Request: fmt.Appendf(nil, `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":%q}]}`, prompt),
					Response: &lyumen.Response{ID: "x", Model: "gpt-4o-mini-2024-07-18", Choices: []lyumen.Choice{{Message: lyumen.Message{Role: "assistant", Content: answer}, FinishReason: "stop"}}, Usage: &lyumen.Usage{PromptTokens: 310, CompletionTokens: 120, TotalTokens: 430}},
					Usage: lyumen.Usage{PromptTokens: 310, CompletionTokens: 120, TotalTokens: 430}, UserAgent: "OpenAI/Python 1.82.0", Country: "DE", Completeness: "complete",
					Attempts: []lyumen.Attempt{{Provider: "openai", Model: "gpt-4o-mini", Status: 200, Duration: time.Second}}}
			}
			start := time.Now()
			n := 0
			for b.Loop() {
				for _, r := range batch {
					r.ID = fmt.Sprintf("01970000-0000-7000-8000-%012x", n)
					r.ReceivedAt = start.Add(time.Duration(n) * time.Millisecond)
					n++
				}
				if err := db.WriteRecords(b.Context(), batch); err != nil { b.Fatal(err) }
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(ps), "pagesize")
		})
	}
}
