package main

import (
	"context"
	"flag"
	"fmt"
	"io"
)

// migrate applies the store's pending migrations and reports its schema
// version. serve does the same at start; this is for operators who migrate
// before rolling out new gateways.
func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sa := storeFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	db, url, err := sa.open(ctx, getenv, true)
	if err != nil {
		return err
	}
	defer db.Close()
	v, err := db.Version(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: schema version %d (up to date)\n", redactURL(url), v)
	return nil
}
