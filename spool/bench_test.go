package spool_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/spool"
)

// BenchmarkRecord measures Record from many goroutines, as request handlers
// call it, on t.TempDir's disk: one op is one record made durable. A
// shipper runs alongside into a Writer that discards, as in production.
func BenchmarkRecord(b *testing.B) {
	for _, perCPU := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("goroutines=%d", perCPU*runtime.GOMAXPROCS(0)), func(b *testing.B) {
			var syncs atomic.Int64
			discard := writerFunc(func(context.Context, []*lyumen.Record) error { return nil })
			s, err := spool.Open(b.TempDir(), discard, spool.Options{
				MaxBytes: 16 << 30,
				OnSync:   func(int, time.Duration) { syncs.Add(1) },
			})
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(b.Context())
			done := make(chan error, 1)
			go func() { done <- s.Run(ctx) }()
			rec := full(id(1))

			b.ReportAllocs()
			b.SetParallelism(perCPU)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := s.Record(b.Context(), rec); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(syncs.Load())/float64(b.N), "fsyncs/record")
			cancel()
			if err := <-done; err != nil {
				b.Fatal(err)
			}
			if err := s.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}
