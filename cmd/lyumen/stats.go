package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/lyumen/lyumen/dataset"
)

// stats prints record counts by day, model, country, language and surface,
// with cells under k suppressed: lyumen stats [--format text|csv|json].
func stats(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("stats", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sa := storeFlags(fs)
	format := fs.String("format", "text", "text, csv or json")
	out := fs.String("out", "", "write to this file instead of standard output")
	k := fs.Int("k", 10, "suppress cells counting fewer than k records")
	from := fs.String("from", "", "first time included: RFC 3339 or YYYY-MM-DD (UTC)")
	to := fs.String("to", "", "first time excluded: RFC 3339 or YYYY-MM-DD (UTC)")
	status := fs.String("status", "all", "comma-separated completeness counted, or all")
	progress := fs.String("progress", "auto", "auto, bar, lines or none")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	ff := filterFlags{from: *from, to: *to, status: *status}
	filter, err := ff.filter()
	if err != nil {
		return fmt.Errorf("stats: %w", err)
	}
	switch *format {
	case "text", "csv", "json":
	default:
		return fmt.Errorf("stats: --format %q: want text, csv or json", *format)
	}
	src, closeStore, err := openSource(ctx, sa, getenv)
	if err != nil {
		return err
	}
	defer closeStore()
	pr := newProgressPrinter(stderr, *progress, "stats")
	a, err := dataset.Aggregate(ctx, src, dataset.AggregateOptions{
		From: filter.From, To: filter.To, K: *k, Completeness: filter.Completeness, OnProgress: pr.print,
	})
	pr.done()
	if err != nil {
		return err
	}
	w := stdout
	var file *os.File
	if *out != "" {
		if file, err = os.Create(*out); err != nil {
			return fmt.Errorf("stats: %w", err)
		}
		w = file
	}
	switch *format {
	case "csv":
		err = a.WriteCSV(w)
	case "json":
		err = a.WriteJSON(w)
	default:
		err = a.WriteText(w)
	}
	if file != nil {
		if cerr := file.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("stats: %w", err)
	}
	return nil
}
