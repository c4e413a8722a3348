package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/spool"
)

type metrics struct {
	refused    *prometheus.CounterVec
	shipped    prometheus.Counter
	corrupt    prometheus.Counter
	rejected   prometheus.Counter
	unrecorded prometheus.Counter
	fsync      prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lyumen_requests_refused_total",
			Help: "Requests refused before they were recorded (malformed, unknown model, too large).",
		}, []string{"surface", "reason"}),
		shipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lyumen_records_written_total",
			Help: "Records committed to the store.",
		}),
		corrupt: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lyumen_spool_corruptions_total",
			Help: "Corrupt or torn spool segments found, cut and reported.",
		}),
		rejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lyumen_spool_rejected_total",
			Help: "Records the store refused for what they hold, set aside under spool/rejected/.",
		}),
		unrecorded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lyumen_requests_unrecorded_total",
			Help: "Requests served without a record because the spool was full (spool.when_full: serve_unrecorded).",
		}),
		fsync: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "lyumen_spool_fsync_seconds",
			Help:    "Time of one spool group commit (write and fsync).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 14),
		}),
	}
	reg.MustRegister(m.refused, m.shipped, m.corrupt, m.rejected, m.unrecorded, m.fsync)
	return m
}

// unrecordedWhenFull serves a request the spool has no room for, as the
// operator chose, with a loud log line and a metric: never silently.
type unrecordedWhenFull struct {
	next    lyumen.ProgressRecorder
	logger  *slog.Logger
	counter prometheus.Counter
}

func (u unrecordedWhenFull) Record(ctx context.Context, rec *lyumen.Record) error {
	err := u.next.Record(ctx, rec)
	if errors.Is(err, spool.ErrFull) {
		u.counter.Inc()
		u.logger.ErrorContext(ctx, "spool full: serving without recording (spool.when_full: serve_unrecorded)", "id", rec.ID)
		return nil
	}
	return err
}

// Progress lets a stream go on when there is no room for its record so
// far; Record, at its end, counts and logs it.
func (u unrecordedWhenFull) Progress(ctx context.Context, rec *lyumen.Record) error {
	if err := u.next.Progress(ctx, rec); !errors.Is(err, spool.ErrFull) {
		return err
	}
	return nil
}
