package main

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lyumen/lyumen/scrub"
	"github.com/lyumen/lyumen/spool"
)

// scrubbed returns what the spool ships to: the store itself, or, with
// redact_secrets on (the default), the store behind a scrub.Writer, so
// that no secret rests in the store. Scrubbing runs in the shipper, off the
// request path; its cost per batch is lyumen_scrub_seconds.
func scrubbed(db spool.Writer, on bool, reg *prometheus.Registry, logger *slog.Logger) (spool.Writer, error) {
	if !on {
		logger.Warn("redact_secrets is off: API keys and passwords in requests are stored as sent")
		return db, nil
	}
	w, err := scrub.New(db)
	if err != nil {
		return nil, err
	}
	dur := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "lyumen_scrub_seconds",
		Help:    "Time to scrub secrets from one batch of records before storing it.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
	})
	replaced := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "lyumen_scrub_secrets_total",
		Help: "Secrets replaced by placeholders before storage.",
	})
	reg.MustRegister(dur, replaced)
	w.OnScrub = func(_, n int, d time.Duration) {
		dur.Observe(d.Seconds())
		replaced.Add(float64(n))
	}
	return w, nil
}
