package sqlite_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/lyumen/lyumen"
)

// BenchmarkWriteRecords_Distinct writes records whose questions all
// differ, as a public gateway's do, into a store that holds prefill of
// them already: every record brings a new blob, whose hash goes into the
// blobs index at a random place. BenchmarkWriteRecords repeats one record's
// content, so its blobs are stored once and that index is never written.
func BenchmarkWriteRecords_Distinct(b *testing.B) {
	for _, prefill := range []int{0, 100_000} {
		b.Run(fmt.Sprintf("prefill=%d", prefill), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "lyumen.db")
			db := mustOpen(b, path)
			const batchSize = 200
			batch := make([]*lyumen.Record, batchSize)
			for i := range batch {
				batch[i] = benchRecord()
			}
			start := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
			n := 0
			fill := func() {
				for i, r := range batch {
					r.ID = fmt.Sprintf("01970000-0000-7000-8000-%012x", n)
					r.ReceivedAt = start.Add(time.Duration(n) * time.Millisecond)
					r.Request = fmt.Appendf(nil, `{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Question number %d: what is the capital of the country numbered %d in the list?"}]}`, n, i)
					r.Conversation = nil
					n++
				}
			}
			for n < prefill {
				fill()
				if err := db.WriteRecords(b.Context(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			first := n
			for b.Loop() {
				fill()
				if err := db.WriteRecords(b.Context(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n-first)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
