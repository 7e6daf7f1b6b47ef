package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/sluicehq/sluice/integration/bench"
)

// runBench runs the benchmark against its own (or the given) Redis, bucket
// and agent, and kfake.
func runBench(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sluice bench", flag.ContinueOnError)
	var cfg bench.Config
	cfg.RegisterFlags("", fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding the sluice binary to run agents: %w", err)
	}
	_, err = bench.Run(ctx, cfg, bench.Deps{AgentBinary: exe, Out: os.Stdout, Progress: os.Stderr})
	return err
}
