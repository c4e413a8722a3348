package spool_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/spool"
)

// sofar returns rec as a stream's progress with answer so far: not ended.
func sofar(rec *lyumen.Record, answer string) *lyumen.Record {
	p := *rec
	p.Completeness, p.Error = "", ""
	resp := *rec.Response
	resp.Choices = slices.Clone(resp.Choices)
	resp.Choices[0].Message.Content = answer
	p.Response = &resp
	return &p
}

func progress(tb testing.TB, s *spool.Spool, rec *lyumen.Record) {
	tb.Helper()
	if err := s.Progress(tb.Context(), rec); err != nil {
		tb.Fatal(err)
	}
}

// afterCrash opens the spool in dir again, as the next process does, ships
// what it holds into st, and returns the record of the exchange id, which
// must be there, interrupted, and saying so.
func afterCrash(t *testing.T, dir string, st *store, o spool.Options, id string) *lyumen.Record {
	t.Helper()
	s := mustOpen(t, dir, st, o)
	drain(t, s)
	mustClose(t, s)
	got := st.byID[id]
	if got == nil {
		t.Fatalf("no record of the interrupted exchange; shipped %v", st.ids())
	}
	if got.Completeness != lyumen.Interrupted || !strings.Contains(got.Error, "interrupted") {
		t.Errorf("record's completeness %q, error %q: want interrupted, and saying so", got.Completeness, got.Error)
	}
	return got
}

// TestSpool_ProgressEndedByRecord: progress is never shipped, and once its
// exchange has a record nothing of it comes back: not while segments
// holding it are shipped and deleted, not after a restart. Kills shipping
// progress, copying it forward after the record, or taking it for
// interrupted at the next Open.
func TestSpool_ProgressEndedByRecord(t *testing.T) {
	dir := t.TempDir()
	st := newStore()
	o := spool.Options{SegmentBytes: 8 << 10}
	s := mustOpen(t, dir, st, o)
	rec := full(id(1000))
	progress(t, s, sofar(rec, "Hel"))
	before := recordN(t, s, 0, 20) // more than a segment: the progress's is deleted, the progress copied
	progress(t, s, sofar(rec, "Hello"))
	if err := s.Record(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	after := recordN(t, s, 20, 20)
	drain(t, s)
	mustClose(t, s)

	s = mustOpen(t, dir, st, o)
	drain(t, s)
	mustClose(t, s)
	want := append(append(before, rec), after...)
	if diff := cmp.Diff(ids(want), st.ids()); diff != "" {
		t.Errorf("ids shipped (-want +got):\n%s", diff)
	}
	if diff := recordDiff(stored(rec), st.byID[rec.ID]); diff != "" {
		t.Errorf("the exchange's record (-want +got):\n%s", diff)
	}
	if st.dups != 0 {
		t.Errorf("store saw %d records twice, want none", st.dups)
	}
}

// TestSpool_ProgressInterrupted: an exchange with progress and no record
// when its process stops (Close without Record is a crash after the
// fsyncs) is recorded by the next Open from its latest progress, marked
// interrupted, once, wherever the progress sat: not yet shipped, shipped
// past (before the checkpoint), or in a segment deleted since (copied
// forward), while Run ran or while it drained. Kills each of those losing
// it, an older progress winning, and a second record at a later start.
func TestSpool_ProgressInterrupted(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, s *spool.Spool, dir string)
	}{
		{"not shipped", func(*testing.T, *spool.Spool, string) {}},
		{"shipped past", func(t *testing.T, s *spool.Spool, _ string) {
			recordN(t, s, 0, 3)
			drain(t, s)
		}},
		{"segment deleted while draining", func(t *testing.T, s *spool.Spool, _ string) {
			recordN(t, s, 0, 20)
			drain(t, s)
		}},
		{"segment deleted while running", func(t *testing.T, s *spool.Spool, dir string) {
			first := segments(t, dir)[0]
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error)
			go func() { done <- s.Run(ctx) }()
			recordN(t, s, 0, 20)
			s.ShipNow()
			deadline := time.Now().Add(10 * time.Second)
			for slices.Contains(segments(t, dir), first) && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if slices.Contains(segments(t, dir), first) {
				t.Fatal("the first segment was not deleted")
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			st := newStore()
			o := spool.Options{SegmentBytes: 8 << 10, Linger: -1}
			s := mustOpen(t, dir, st, o)
			rec := full(id(1000))
			progress(t, s, sofar(rec, "Hel"))
			last := sofar(rec, "Hello, wor")
			progress(t, s, last)
			tc.run(t, s, dir)
			mustClose(t, s) // the process dies with the stream open

			got := afterCrash(t, dir, st, o, rec.ID)
			want := stored(last)
			want.Completeness, want.Error = got.Completeness, got.Error
			if diff := recordDiff(want, got); diff != "" {
				t.Errorf("the interrupted record is not the latest progress (-want +got):\n%s", diff)
			}

			n := len(st.ids())
			s = mustOpen(t, dir, st, o)
			drain(t, s)
			mustClose(t, s)
			if len(st.ids()) != n || st.dups != 0 {
				t.Errorf("a later start shipped %d more records and %d again, want none", len(st.ids())-n, st.dups)
			}
		})
	}
}

// TestSpool_ProgressThenRecordPastTheCap: the record that ends an
// exchange with a progress in the spool goes in even when the spool is at
// its cap, which refuses a new exchange's: refused, it would leave the
// exchange to be recorded as interrupted by a crash that never came. A
// progress counts as no pending record. Kills the record refused, and
// progress counted as records.
func TestSpool_ProgressThenRecordPastTheCap(t *testing.T) {
	dir := t.TempDir()
	st := newStore()
	s := mustOpen(t, dir, st, spool.Options{MaxBytes: 16 << 10, SegmentBytes: 4 << 10})
	rec := full(id(1000))
	progress(t, s, sofar(rec, "Hel"))
	if n, _ := s.Pending(); n != 0 {
		t.Errorf("Pending() = %d records after a progress, want 0", n)
	}
	var err error
	for i := 0; err == nil && i < 100; i++ {
		err = s.Record(t.Context(), full(id(i)))
	}
	if !errors.Is(err, spool.ErrFull) {
		t.Fatalf("the spool never filled: %v", err)
	}
	if err := s.Record(t.Context(), rec); err != nil {
		t.Fatalf("the record ending the exchange: %v, want it taken past the cap", err)
	}
	drain(t, s)
	mustClose(t, s)
	if got := st.byID[rec.ID]; got == nil || got.Completeness != rec.Completeness {
		t.Errorf("stored %+v, want the exchange's own record", got)
	}
}
