package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/spool"
)

type recorderFunc func(context.Context, *lyumen.Record) error

func (f recorderFunc) Record(ctx context.Context, rec *lyumen.Record) error { return f(ctx, rec) }

func (f recorderFunc) Progress(ctx context.Context, rec *lyumen.Record) error { return f(ctx, rec) }

// TestUnrecordedWhenFull: spool.when_full: serve_unrecorded serves a
// request the spool has no room for, and counts it; it must not hide any
// other failure to record (a disk error, a spool shutting down), which
// still refuses the request, uncounted. Kills unrecordedWhenFull
// swallowing every error, or counting the ones it passes on.
func TestUnrecordedWhenFull(t *testing.T) {
	disk := errors.New("disk")
	for _, tc := range []struct {
		name    string
		next    error
		want    error
		counted float64
	}{
		{"recorded", nil, nil, 0},
		{"spool full", fmt.Errorf("spool record: 10 of 10 bytes used: %w", spool.ErrFull), nil, 1},
		{"disk error", disk, disk, 0},
		{"spool closed", spool.ErrClosed, spool.ErrClosed, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			m := newMetrics(reg)
			u := unrecordedWhenFull{
				next:    recorderFunc(func(context.Context, *lyumen.Record) error { return tc.next }),
				logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
				counter: m.unrecorded,
			}
			err := u.Record(t.Context(), &lyumen.Record{ID: "r1"})
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("Record = %v, want %v", err, tc.want)
			}
			if err := u.Progress(t.Context(), &lyumen.Record{ID: "r1"}); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("Progress = %v, want %v", err, tc.want)
			}
			if got := counterValue(t, reg, "lyumen_requests_unrecorded_total"); got != tc.counted {
				t.Errorf("lyumen_requests_unrecorded_total = %v, want %v (a stream's progress is not counted)", got, tc.counted)
			}
		})
	}
}

// counterValue reads the counter name from reg, as a scrape would.
func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
