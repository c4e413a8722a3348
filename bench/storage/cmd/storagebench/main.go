// Command storagebench writes a generated chat workload into a fresh SQLite
// file and, when LYUMEN_TEST_POSTGRES is set, a fresh PostgreSQL schema, and
// prints what each store took on disk against the raw bytes, and how fast
// it took them, as markdown.
//
//	go run ./bench/storage/cmd/storagebench
//	LYUMEN_TEST_POSTGRES='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' go run ./bench/storage/cmd/storagebench
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/bench/storage"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "storagebench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg := storage.DefaultConfig()
	fs := flag.NewFlagSet("storagebench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "workload seed")
	fs.IntVar(&cfg.Conversations, "conversations", cfg.Conversations, "conversations in the chat workload")
	flat := fs.Int("flat", 100_000, "records in the 2 KB workload")
	batch := fs.Int("batch", 500, "records per WriteRecords call")
	dir := fs.String("dir", os.TempDir(), "directory for the SQLite file")
	pgURL := fs.String("postgres", getenv("LYUMEN_TEST_POSTGRES"), "PostgreSQL URL; empty skips PostgreSQL")
	stores := fs.String("stores", "sqlite,postgres", "stores to measure")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.Conversations < 1 || *flat < 1 || *batch < 1 {
		return errors.New("-conversations, -flat and -batch must be positive")
	}

	type opener func(ctx context.Context) (*storage.Target, error)
	var targets []opener
	for _, s := range splitComma(*stores) {
		switch s {
		case "sqlite":
			targets = append(targets, func(ctx context.Context) (*storage.Target, error) { return storage.NewSQLite(ctx, *dir) })
		case "postgres":
			if *pgURL == "" {
				fmt.Fprintln(stderr, "storagebench: LYUMEN_TEST_POSTGRES not set: skipping PostgreSQL")
				continue
			}
			targets = append(targets, func(ctx context.Context) (*storage.Target, error) { return storage.NewPostgres(ctx, *pgURL) })
		default:
			return fmt.Errorf("-stores: unknown store %q", s)
		}
	}

	workloads := []struct {
		name string
		recs []*lyumen.Record
	}{
		{fmt.Sprintf("chat, %d conversations", cfg.Conversations), storage.Conversations(cfg)},
		{"2 KB single turns", storage.Flat(cfg.Seed, 0, *flat)},
	}
	fmt.Fprintf(stderr, "storagebench: %s\n", storage.Describe(workloads[0].recs))

	var results []storage.Result
	for _, open := range targets {
		for _, wl := range workloads {
			t, err := open(ctx)
			if err != nil {
				return err
			}
			res, err := storage.Measure(ctx, t, wl.name, wl.recs, *batch)
			err = errors.Join(err, t.Close())
			if err != nil {
				return err
			}
			fmt.Fprintf(stderr, "storagebench: %s, %s: %d records in %v\n", res.Store, res.Workload, res.Records, res.Spent)
			results = append(results, res)
		}
	}
	storage.Table(stdout, results)
	fmt.Fprintln(stdout)
	for _, r := range results {
		storage.Breakdown(stdout, r)
	}
	return nil
}

func splitComma(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
