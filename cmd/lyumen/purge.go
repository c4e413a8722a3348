package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/lyumen/lyumen"
)

// purge deletes records for good: those named by --id (the X-Request-Id a
// client quotes when asking for deletion) and those received before
// --before, with the content only they referred to.
func purge(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("purge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sa := storeFlags(fs)
	var p lyumen.Purge
	fs.Func("id", "a record's id (its X-Request-Id); repeat for more", func(s string) error {
		p.IDs = append(p.IDs, strings.TrimSpace(s))
		return nil
	})
	fs.Func("before", "every record received before this time (a date, 2026-01-31, or RFC 3339)", func(s string) error {
		var err error
		p.Before, err = parseTime(s)
		return err
	})
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if len(p.IDs) == 0 && p.Before.IsZero() {
		fs.Usage()
		return errors.New("purge: give --id or --before")
	}
	if err := p.Check(time.Now()); err != nil { // before the store is opened
		return err
	}
	db, url, err := sa.open(ctx, getenv, false)
	if err != nil {
		return err
	}
	defer db.Close()
	purger, ok := db.(interface {
		Purge(context.Context, lyumen.Purge) (lyumen.Purged, error)
	})
	if !ok {
		return fmt.Errorf("purge: the store %s cannot purge", redactURL(url))
	}
	got, err := purger.Purge(ctx, p)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "purged %d records and %d pieces of content only they held\n", got.Records, got.Blobs)
	for _, id := range got.NotFound {
		fmt.Fprintf(stdout, "not found: %s (a record is stored within seconds of its answer; if it is newer, try again)\n", id)
	}
	if got.Warning != "" {
		fmt.Fprintln(stdout, "warning:", got.Warning)
	}
	return nil
}
