package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

type telemetryConfig struct {
	HTTPListen string
}

func (c *telemetryConfig) RegisterFlags(f *flag.FlagSet) {
	f.StringVar(&c.HTTPListen, "http-listen", ":9644", "Address serving /metrics (Prometheus), /healthz and /readyz; empty to disable.")
}

// startTelemetry installs the OpenTelemetry meter provider, exported for
// Prometheus, and serves the HTTP endpoint. The returned func stops both.
func startTelemetry(ctx context.Context, cfg telemetryConfig, log *slog.Logger) (func(), error) {
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, fmt.Errorf("creating Prometheus exporter: %w", err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	otel.SetMeterProvider(mp)
	if cfg.HTTPListen == "" {
		return func() { _ = mp.Shutdown(context.Background()) }, nil
	}
	ln, err := net.Listen("tcp", cfg.HTTPListen)
	if err != nil {
		return nil, fmt.Errorf("listening on --http-listen %s: %w", cfg.HTTPListen, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/debug/pprof/", pprof.Index) // named profiles: heap, goroutine, allocs ...
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	ok := func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) }
	mux.HandleFunc("/healthz", ok)
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if ctx.Err() != nil {
			http.Error(w, "draining", http.StatusServiceUnavailable)
			return
		}
		ok(w, r)
	})
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("serving HTTP", "err", err)
		}
	}()
	log.Info("serving metrics and health", "listen", ln.Addr().String())
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
		_ = mp.Shutdown(sctx)
	}, nil
}
