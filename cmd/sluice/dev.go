package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sluicehq/sluice/agent"
	"github.com/sluicehq/sluice/metadata/memory"
	"github.com/sluicehq/sluice/tiering/bucket"
	"github.com/sluicehq/sluice/tiering/bucket/file"
)

// runDev runs one agent on an embedded metadata store and a local-directory
// bucket: no Redis, no S3, data kept under --data-dir across restarts.
func runDev(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sluice dev", flag.ContinueOnError)
	var (
		cfg     agent.Config
		tel     telemetryConfig
		dataDir = fs.String("data-dir", "./sluice-data", "Directory holding the metadata and the objects.")
	)
	cfg.RegisterFlags("", fs)
	tel.RegisterFlags(fs)
	if err := fs.Set("listen", "127.0.0.1:9092"); err != nil {
		return err
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	dir, err := filepath.Abs(*dataDir)
	if err != nil {
		return fmt.Errorf("--data-dir: %w", err)
	}
	store, err := memory.Open(filepath.Join(dir, "metadata"))
	if err != nil {
		return fmt.Errorf("opening metadata in %s: %w", dir, err)
	}
	defer store.Close()
	fb, err := file.New(filepath.Join(dir, "objects"))
	if err != nil {
		return fmt.Errorf("opening objects in %s: %w", dir, err)
	}
	b := bucket.Instrument(fb)
	log := newLogger()
	fmt.Fprintf(os.Stderr, "sluice dev: data in %s\n", dir)
	return serve(ctx, cfg, tel, agent.Deps{Store: store, Bucket: b, Logger: log})
}
