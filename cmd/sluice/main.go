// Command sluice runs Sluice: a Kafka-compatible broker whose agents keep no
// state, storing data in object storage and metadata in Redis.
//
// This package only wires: flags and SLUICE_* environment variables become
// Config values, backends are opened, and SIGTERM cancels the context.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

const usage = `usage: sluice <command> [flags]

commands:
  agent            run an agent on Redis and a bucket
  dev              run everything in one process, data in a local directory
  object ls        list the objects of a bucket
  object inspect   print and verify one object
  bench            measure throughput, latency and cost against S3 and kfake

Run "sluice <command> -h" for its flags. Every flag can also be set as
SLUICE_<FLAG> (upper case, dashes as underscores); flags win over the environment.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "agent":
		err = runAgent(ctx, args)
	case "dev":
		err = runDev(ctx, args)
	case "object":
		err = runObject(ctx, args)
	case "bench":
		err = runBench(ctx, args)
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "sluice: unknown command %q\n\n%s", cmd, usage)
		os.Exit(2)
	}
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(os.Stderr, "sluice %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// parseFlags applies SLUICE_* environment variables and then args to fs.
func parseFlags(fs *flag.FlagSet, args []string) error {
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		name := "SLUICE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok && envErr == nil {
			if err := fs.Set(f.Name, v); err != nil {
				envErr = fmt.Errorf("%s=%q: %w", name, v, err)
			}
		}
	})
	if envErr != nil {
		return envErr
	}
	return fs.Parse(args)
}
