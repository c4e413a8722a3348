package storage

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/lyumen/lyumen"
)

// Result is one store's measurement on one workload.
type Result struct {
	Store    string
	Workload string
	Records  int
	Raw      int64         // request bodies and response JSON, summed (RawBytes)
	Spent    time.Duration // in WriteRecords
	// CPU is what this process used meanwhile, user and system: all of it
	// for SQLite, only the client's side for PostgreSQL.
	CPU time.Duration
	// Server is what the database server did meanwhile (PostgreSQL).
	Server Server
	Weight Weight
}

// RecordsPerSecond is the write rate.
func (r Result) RecordsPerSecond() float64 { return float64(r.Records) / r.Spent.Seconds() }

// Measure writes recs into t in batches of batch, then weighs t (which
// closes its store).
func Measure(ctx context.Context, t *Target, workload string, recs []*lyumen.Record, batch int) (Result, error) {
	res := Result{Store: t.Name, Workload: workload, Records: len(recs)}
	for _, r := range recs {
		res.Raw += RawBytes(r)
	}
	var before, after Server
	var err error
	if t.server != nil {
		if before, err = t.server(ctx); err != nil {
			return res, err
		}
	}
	cpu := processCPU()
	if res.Spent, err = Write(ctx, t.Store, recs, batch); err != nil {
		return res, fmt.Errorf("write to %s: %w", t.Name, err)
	}
	res.CPU = processCPU() - cpu
	if t.server != nil {
		if after, err = t.server(ctx); err != nil {
			return res, err
		}
		// Connections opened during the run started from zero.
		res.Server = Server{CPU: after.CPU - before.CPU, WAL: after.WAL - before.WAL}
	}
	if res.Weight, err = t.Weigh(ctx); err != nil {
		return res, err
	}
	return res, nil
}

// Table writes the results as a markdown table.
func Table(w io.Writer, rs []Result) {
	fmt.Fprintln(w, "| store | workload | records | raw | on disk | after VACUUM | bytes/record on disk | on disk / raw | records/s | raw MB/s | CPU µs/record | server CPU µs/record | WAL bytes/record |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, r := range rs {
		vac, server, wal := "–", "–", "–"
		if r.Weight.Vacuumed > 0 {
			vac = fmt.Sprintf("%s (%.1f%%)", mb(r.Weight.Vacuumed), pct(r.Weight.Vacuumed, r.Raw))
		}
		if r.Server.CPU > 0 {
			server = fmt.Sprintf("%.0f", float64(r.Server.CPU.Microseconds())/float64(r.Records))
		}
		if r.Server.WAL > 0 {
			wal = fmt.Sprintf("%d", r.Server.WAL/int64(r.Records))
		}
		fmt.Fprintf(w, "| %s | %s | %d | %s | %s | %s | %d | %.1f%% | %.0f | %.1f | %.0f | %s | %s |\n",
			r.Store, r.Workload, r.Records, mb(r.Raw), mb(r.Weight.Disk), vac,
			r.Weight.Disk/int64(r.Records), pct(r.Weight.Disk, r.Raw),
			r.RecordsPerSecond(), float64(r.Raw)/1e6/r.Spent.Seconds(),
			float64(r.CPU.Microseconds())/float64(r.Records), server, wal)
	}
}

// Breakdown writes where a result's bytes on disk went.
func Breakdown(w io.Writer, r Result) {
	fmt.Fprintf(w, "%s, %s:\n\n", r.Store, r.Workload)
	fmt.Fprintln(w, "| table or index | bytes | share | bytes/record | unused in its pages |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|")
	for _, p := range r.Weight.Parts {
		unused := "–"
		if p.Unused > 0 {
			unused = fmt.Sprintf("%.1f%%", pct(p.Unused, p.Bytes))
		}
		fmt.Fprintf(w, "| %s | %s | %.1f%% | %d | %s |\n",
			p.Name, mb(p.Bytes), pct(p.Bytes, r.Weight.Disk), p.Bytes/int64(r.Records), unused)
	}
	fmt.Fprintln(w)
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

func pct(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}
