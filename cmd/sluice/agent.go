package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/sluicehq/sluice/agent"
	"github.com/sluicehq/sluice/metadata/redis"
	"github.com/sluicehq/sluice/tiering"
)

func runAgent(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sluice agent", flag.ContinueOnError)
	var (
		cfg        agent.Config
		tel        telemetryConfig
		redisURL   = fs.String("redis", "", "Redis holding the metadata: redis://host:port/db (rediss:// for TLS), or a Redis Cluster as redis+cluster://host:port[,host:port...] (rediss+cluster:// for TLS).")
		bucketURL  = fs.String("bucket", "", "Object storage: s3://BUCKET[/PREFIX]?region=R&endpoint=URL&path_style=true, or file:///ABS/DIR.")
		acceptLoss = fs.Bool("accept-redis-data-loss", false, "Start even though Redis does not persist every write it acknowledges.")
	)
	cfg.RegisterFlags("", fs)
	tel.RegisterFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *redisURL == "":
		return errors.New("--redis is required (redis://host:port/db)")
	case *bucketURL == "":
		return errors.New("--bucket is required (s3://BUCKET?region=R or file:///ABS/DIR)")
	}
	log := newLogger()
	redis.RouteClientLogs(log)
	b, err := tiering.OpenBucket(ctx, *bucketURL)
	if err != nil {
		return fmt.Errorf("opening --bucket: %w", err)
	}
	store, err := redis.Open(ctx, *redisURL)
	if err != nil {
		return fmt.Errorf("opening --redis: %w", err)
	}
	defer store.Close()
	if err := store.CheckDurability(ctx); err != nil {
		if !*acceptLoss {
			return fmt.Errorf("%w; make Redis durable (appendonly yes, appendfsync always) or pass --accept-redis-data-loss", err)
		}
		log.Warn("Redis may lose acknowledged writes; running anyway as --accept-redis-data-loss asks", "err", err)
	}
	if err := agent.CheckStoreRollback(ctx, store, b); err != nil {
		return err
	}
	return serve(ctx, cfg, tel, agent.Deps{Store: store, Bucket: b, Logger: log})
}

// serve runs the agent and its HTTP endpoint until ctx ends.
func serve(ctx context.Context, cfg agent.Config, tel telemetryConfig, deps agent.Deps) error {
	detectAdvertise(ctx, &cfg, deps.Logger)
	shutdown, err := startTelemetry(ctx, tel, deps.Logger)
	if err != nil {
		return err
	}
	defer shutdown()
	srv, err := agent.New(cfg, deps)
	if err != nil {
		return err
	}
	// After New has validated the configuration: a bad flag ends the
	// process with its one error line and nothing else.
	limitMemory(cfg, deps.Logger)
	deps.Logger.Info("agent ready", "listen", srv.Addr().String(), "advertise", srv.Advertised())
	fmt.Printf("sluice ready: bootstrap %s\n", srv.Advertised())
	return srv.Run(ctx)
}

func newLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// limitMemory gives the Go runtime a soft memory limit (unless GOMEMLIMIT is
// set), so the collector works harder as the agent nears it instead of
// letting the heap double between cycles. The aim is a resident size under
// the produce buffer plus 256 MiB at the defaults: the heap may take the
// buffer (which counts flushes being uploaded: a flush is held once, as its
// encoded object), the fetch cache, the compacted segment being built and
// 80 MiB (fetch responses, reads for them), leaving 80 MiB for stacks, the
// runtime and heap the collector has freed but not yet returned. A larger
// cache or segment raises it.
func limitMemory(cfg agent.Config, log *slog.Logger) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	limit := cfg.Produce.BufferBytes + max(cfg.FetchCacheBytes, 64<<20) + cfg.Maintenance.SegmentBytes + 80<<20
	debug.SetMemoryLimit(limit)
	log.Info("memory limit set", "bytes", limit)
}
