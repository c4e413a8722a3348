package storage_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/bench/storage"
)

// BenchmarkWriteRecords writes batches of 500 distinct records of about
// 2 KB each, the shape of a spool flush, into each store.
//
//	go test -run '^$' -bench WriteRecords ./bench/storage/
func BenchmarkWriteRecords(b *testing.B) {
	const batch = 500
	for _, tc := range targets(b) {
		b.Run(tc.name, func(b *testing.B) {
			t, err := tc.open(b)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() {
				if err := t.Close(); err != nil {
					b.Error(err)
				}
			})
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				b.StopTimer()
				recs := storage.Flat(1, n, batch) // fresh ids and content, as in production
				b.StartTimer()
				if err := t.Store.WriteRecords(b.Context(), recs); err != nil {
					b.Fatal(err)
				}
				n += batch
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

type target struct {
	name string
	open func(testing.TB) (*storage.Target, error)
}

// targets lists the stores to measure; PostgreSQL only when
// LYUMEN_TEST_POSTGRES names a server.
func targets(tb testing.TB) []target {
	ts := []target{{"sqlite", func(tb testing.TB) (*storage.Target, error) { return storage.NewSQLite(tb.Context(), tb.TempDir()) }}}
	if u := os.Getenv("LYUMEN_TEST_POSTGRES"); u != "" {
		ts = append(ts, target{"postgres", func(tb testing.TB) (*storage.Target, error) { return storage.NewPostgres(tb.Context(), u) }})
	} else {
		tb.Log("LYUMEN_TEST_POSTGRES not set: skipping PostgreSQL")
	}
	return ts
}

func TestConversations(t *testing.T) {
	cfg := storage.DefaultConfig()
	cfg.Conversations = 200
	a, b := storage.Conversations(cfg), storage.Conversations(cfg)
	if len(a) != len(b) {
		t.Fatalf("two runs with one seed: %d and %d records", len(a), len(b))
	}
	for i := range a {
		if a[i].ID != b[i].ID || !bytes.Equal(a[i].Request, b[i].Request) {
			t.Fatalf("two runs with one seed differ at record %d", i)
		}
		if !json.Valid(a[i].Request) {
			t.Fatalf("record %d: request body is not JSON:\n%s", i, a[i].Request)
		}
	}
	cfg.Seed++
	if c := storage.Conversations(cfg); len(c) == len(a) && bytes.Equal(c[0].Request, a[0].Request) {
		t.Error("another seed gave the same workload")
	}
}

// TestMeasure runs the whole measurement on a small workload: every record
// reads back as written, and the store weighs less than the raw bytes.
func TestMeasure(t *testing.T) {
	cfg := storage.DefaultConfig()
	cfg.Conversations = 100
	recs := storage.Conversations(cfg)
	for _, tc := range targets(t) {
		t.Run(tc.name, func(t *testing.T) {
			tg, err := tc.open(t)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := tg.Close(); err != nil {
					t.Error(err)
				}
			})
			if _, err := storage.Write(t.Context(), tg.Store, recs, 50); err != nil {
				t.Fatal(err)
			}
			reader, ok := tg.Store.(interface {
				Record(ctx context.Context, id string) (*lyumen.Record, error)
			})
			if !ok {
				t.Fatalf("%T cannot read records back", tg.Store)
			}
			for _, want := range recs {
				got, err := reader.Record(t.Context(), want.ID)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got.Request, want.Request) {
					t.Fatalf("record %s: request body differs", want.ID)
				}
			}
			w, err := tg.Weigh(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			var raw int64
			for _, r := range recs {
				raw += storage.RawBytes(r)
			}
			if w.Disk <= 0 || w.Disk >= raw {
				t.Errorf("%d bytes on disk for %d raw bytes", w.Disk, raw)
			}
		})
	}
}

// BenchmarkWriteConversations writes the chat workload (DefaultConfig, 300
// conversations) in batches of 500 into each store.
func BenchmarkWriteConversations(b *testing.B) {
	cfg := storage.DefaultConfig()
	cfg.Conversations = 300
	recs := storage.Conversations(cfg)
	for _, tc := range targets(b) {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				b.StopTimer()
				t, err := tc.open(b)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := storage.Write(b.Context(), t.Store, recs, 500); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := t.Close(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				n += len(recs)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
