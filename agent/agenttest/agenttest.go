// Package agenttest runs a Sluice agent inside a test, on 127.0.0.1:0, with
// in-memory backends unless told otherwise.
package agenttest

import (
	"context"
	"flag"
	"log/slog"
	"testing"
	"time"

	"github.com/sluicehq/sluice/agent"
	"github.com/sluicehq/sluice/metadata/memory"
	"github.com/sluicehq/sluice/tiering/bucket"
)

// Agent is a running agent and its backends.
type Agent struct {
	*agent.Server
	Store  agent.Store
	Bucket bucket.Bucket
	Config agent.Config
}

// Opt changes how Start runs the agent.
type Opt interface{ apply(*options) }

type options struct {
	cfg    agent.Config
	store  agent.Store
	bucket bucket.Bucket
	logger *slog.Logger
}

type optFunc func(*options)

func (f optFunc) apply(o *options) { f(o) }

// WithConfig edits the agent's configuration, which starts at the flag
// defaults with a 10ms flush interval.
func WithConfig(fn func(*agent.Config)) Opt { return optFunc(func(o *options) { fn(&o.cfg) }) }

// WithStore runs the agent on s instead of a fresh memory store.
func WithStore(s agent.Store) Opt { return optFunc(func(o *options) { o.store = s }) }

// WithBucket runs the agent on b instead of a fresh in-memory bucket.
func WithBucket(b bucket.Bucket) Opt { return optFunc(func(o *options) { o.bucket = b }) }

// WithLogger sends the agent's logs to l.
func WithLogger(l *slog.Logger) Opt { return optFunc(func(o *options) { o.logger = l }) }

// DefaultConfig is the flag defaults, listening on 127.0.0.1:0 and
// flushing every 10ms so tests do not wait.
func DefaultConfig() agent.Config {
	var cfg agent.Config
	cfg.RegisterFlags("", flag.NewFlagSet("agenttest", flag.PanicOnError))
	cfg.Listen = "127.0.0.1:0"
	cfg.Produce.FlushInterval = 10 * time.Millisecond
	return cfg
}

// Start runs an agent until the test ends.
func Start(t testing.TB, opts ...Opt) *Agent {
	t.Helper()
	o := options{cfg: DefaultConfig()}
	for _, opt := range opts {
		opt.apply(&o)
	}
	if o.store == nil {
		o.store = memory.New()
	}
	if o.bucket == nil {
		o.bucket = bucket.NewInMem()
	}
	if o.logger == nil {
		o.logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	srv, err := agent.New(o.cfg, agent.Deps{Store: o.store, Bucket: o.bucket, Logger: o.logger})
	if err != nil {
		t.Fatalf("starting agent: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return &Agent{Server: srv, Store: o.store, Bucket: o.bucket, Config: o.cfg}
}

// Addr is the host:port clients dial.
func (a *Agent) Addr() string { return a.Server.Addr().String() }

// testWriter sends log lines to t.Log so they show only for failed tests.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}
