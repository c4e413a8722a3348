package pack_test

import (
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/internal/lowprio"
	"github.com/lyumen/lyumen/internal/pack"
)

// TestCutBatch checks that a batch encodes each new piece once, however
// many of its records hold it, and none that a committed batch stored,
// until Recent forgets it.
func TestCutBatch(t *testing.T) {
	p := pack.New()
	system := strings.Repeat("You answer questions about the weather. ", 3)
	turn := func(n int) *lyumen.Record {
		var msgs []string
		msgs = append(msgs, `{"role":"system","content":"`+system+`"}`)
		for i := range n {
			msgs = append(msgs, fmt.Sprintf(`{"role":"user","content":"what is the weather like on day %d of the trip?"}`, i))
		}
		return &lyumen.Record{ID: fmt.Sprint(n), Request: []byte(`{"model":"m","messages":[` + strings.Join(msgs, ",") + `]}`)}
	}
	recent := pack.NewRecent(1 << 10)
	b, err := p.CutBatch(t.Context(), []*lyumen.Record{turn(1), turn(2), turn(3)}, recent)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Rows) != 3 || len(b.Blobs) != 4 { // the system prompt and three questions
		t.Fatalf("%d rows and %d blobs, want 3 and 4", len(b.Rows), len(b.Blobs))
	}
	recent.AddAt(0, b.Blobs)
	if b, err = p.CutBatch(t.Context(), []*lyumen.Record{turn(4)}, recent); err != nil || len(b.Blobs) != 1 {
		t.Fatalf("next turn: %d blobs (err %v), want only its new question", len(b.Blobs), err)
	}
	recent.Reset(1)
	if b, _ = p.CutBatch(t.Context(), []*lyumen.Record{turn(4)}, recent); len(b.Blobs) != 5 {
		t.Errorf("after Reset: %d blobs, want all 5", len(b.Blobs))
	}
	recent.AddAt(0, b.Blobs) // a batch cut before the purge: not remembered
	if b, _ = p.CutBatch(t.Context(), []*lyumen.Record{turn(4)}, recent); len(b.Blobs) != 5 {
		t.Errorf("after a stale AddAt: %d blobs, want all 5", len(b.Blobs))
	}
	if _, err := p.CutBatch(t.Context(), []*lyumen.Record{turn(1), nil}, recent); err == nil {
		t.Error("a nil record was laid out")
	}
}

// TestCutBatch_MarkedStaysOnItsGoroutine: under a context marked for a
// low-priority thread, CutBatch starts no goroutine, which would run at
// the usual priority; otherwise it fans out.
func TestCutBatch_MarkedStaysOnItsGoroutine(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("with one P CutBatch never fans out")
	}
	recs := make([]*lyumen.Record, 20)
	for i := range recs {
		recs[i] = &lyumen.Record{ID: fmt.Sprint(i), Request: []byte(fmt.Sprintf(`{"model":"m","messages":[{"role":"user","content":"question %d"}]}`, i))}
	}
	created := func() uint64 {
		s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	p := pack.New()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		fans bool
	}{
		{"marked", lowprio.Mark(t.Context()), false},
		{"unmarked", t.Context(), true},
	} {
		before := created()
		if _, err := p.CutBatch(tc.ctx, recs, pack.NewRecent(1<<10)); err != nil {
			t.Fatal(err)
		}
		if n := created() - before; (n > 0) != tc.fans {
			t.Errorf("%s: CutBatch started %d goroutines; want some: %v", tc.name, n, tc.fans)
		}
	}
}
