// Command lyumen is the free-inference-for-data LLM gateway.
//
//	lyumen serve [--config lyumen.yaml] [--listen ADDR] [--store URL]
//	lyumen migrate [--config lyumen.yaml] [--store URL]
//	lyumen export --format jsonl|sharegpt|parquet --out DIR [filters]
//	lyumen stats [--format text|csv|json] [--k 10]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	// The first signal drains (drain_delay, shutdown_timeout); a second
	// ends the process at once. Every exchange whose end a client was sent
	// is in the spool already; a stream still running is recorded as
	// interrupted at the next start, as after a crash (README, "Store and
	// spool"). Both signals come through one buffered channel: a second
	// signal sent before the handler was dropped was swallowed, and the
	// process drained on.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() {
		<-sigs
		stop()
		sig := <-sigs
		fmt.Fprintln(os.Stderr, "lyumen: a second signal: exiting at once")
		code := 1
		if n, ok := sig.(syscall.Signal); ok {
			code = 128 + int(n) // as a shell reports a process a signal ended
		}
		os.Exit(code)
	}()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp): // asked for with -h: the usage went out
	case errors.Is(err, errNoCommand):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "lyumen:", err)
		os.Exit(1)
	}
}

const usage = `Lyumen: free LLM inference, in exchange for the data.

Usage:
  lyumen serve [--config FILE] [--listen ADDR] [--store URL]
  lyumen migrate [--config FILE] [--store URL]
  lyumen export [--config FILE] [--store URL] --format jsonl|sharegpt|parquet --out DIR [filters]
  lyumen stats [--config FILE] [--store URL] [--format text|csv|json] [--k 10]
  lyumen purge [--config FILE] [--store URL] (--id ID ... | --before DATE)
  lyumen version

Run "lyumen serve --help" for the flags.
`

// parseFlags parses a command's flags and refuses words left after them:
// the flag package stops at the first one and ignores everything after it,
// flags included, so "purge --id A B --id C" would purge A alone and
// report success.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q (every value needs its flag, as in --id A --id B)", fs.Name(), fs.Arg(0))
	}
	return nil
}

// errNoCommand is run's error without arguments, after the usage.
var errNoCommand = errors.New("no command")

// run is main without the process: tests call it with their own arguments,
// environment and context.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errNoCommand
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], getenv, stderr)
	case "migrate":
		return migrate(ctx, args[1:], getenv, stdout, stderr)
	case "export":
		return export(ctx, args[1:], getenv, stdout, stderr)
	case "stats":
		return stats(ctx, args[1:], getenv, stdout, stderr)
	case "purge":
		return purge(ctx, args[1:], getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "lyumen", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
