package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Deps are what Run needs from its caller.
type Deps struct {
	// AgentBinary is the sluice executable; Run starts agents as
	// `AgentBinary agent ...`.
	AgentBinary string
	// Out gets the table; Progress the status lines while phases run.
	Out      io.Writer
	Progress io.Writer
}

// Report is everything one run measured. It is what --json writes.
type Report struct {
	Started time.Time `json:"started"`
	Machine Machine   `json:"machine"`
	Config  Config    `json:"config"`
	Servers Servers   `json:"servers"`
	Ceiling *Ceiling  `json:"s3_ceiling,omitempty"`
	Sluice  *Load     `json:"sluice"`
	Kfake   *Load     `json:"kfake,omitempty"`
	Targets []Target  `json:"targets"`
}

// Machine describes where the bench ran: every server shares these CPUs.
// The load averages (Linux) show whether something else ran meanwhile.
type Machine struct {
	CPUs          int    `json:"cpus"`
	OS            string `json:"os"`
	Arch          string `json:"arch"`
	GoVersion     string `json:"go_version"`
	LoadAvgBefore string `json:"loadavg_before,omitempty"`
	LoadAvgAfter  string `json:"loadavg_after,omitempty"`
}

// loadAvg returns the 1, 5 and 15 minute load averages, or "".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return ""
}

// Servers says what the load ran against, and which of it the bench
// started.
type Servers struct {
	Redis        string `json:"redis"`
	Bucket       string `json:"bucket"`
	Agent        string `json:"agent"`
	StartedRedis bool   `json:"started_redis"`
	StartedS3    bool   `json:"started_s3"`
	StartedAgent bool   `json:"started_agent"`
	// S3LimitMBps is what the throttle let through each way between the
	// agent and the S3 server; 0 when there was none.
	S3LimitMBps float64 `json:"s3_limit_mb_per_sec,omitempty"`
}

// Run measures the S3 ceiling, then the load against Sluice, then against
// kfake, prints the table to deps.Out and writes cfg.JSON. Servers it
// starts are stopped before it returns, also when ctx is cancelled.
func Run(ctx context.Context, cfg Config, deps Deps) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Out == nil {
		deps.Out = io.Discard
	}
	if err := checkWritable(cfg.AgentProfile, cfg.JSON); err != nil {
		return nil, err
	}
	rep := &Report{Started: time.Now().UTC(), Config: cfg, Machine: Machine{CPUs: runtime.NumCPU(),
		OS: runtime.GOOS, Arch: runtime.GOARCH, GoVersion: runtime.Version(), LoadAvgBefore: loadAvg()}}
	prog := newProgress(deps.Progress)
	srv, err := startServers(ctx, cfg, deps.AgentBinary)
	if err != nil {
		return nil, err
	}
	defer srv.close()
	rep.Servers = Servers{Redis: srv.redisURL, Bucket: srv.bucketURL, Agent: srv.agentAddr,
		StartedRedis: cfg.Redis == "" && srv.redisURL != "", StartedS3: cfg.Bucket == "" && srv.bucketURL != "",
		StartedAgent: srv.agent != nil}

	if !cfg.SkipCeiling && srv.s3 != nil {
		half := cfg.Duration / 2
		if rep.Ceiling, err = runCeiling(ctx, srv.s3, prog, cfg.Produce.FlushBytes, cfg.Produce.Uploads, cfg.Consumers, half); err != nil {
			return nil, fmt.Errorf("measuring the S3 ceiling: %w", err)
		}
	}
	if srv.throttle != nil && rep.Ceiling != nil && cfg.S3Speed < 1 {
		rep.Servers.S3LimitMBps = rep.Ceiling.PutMBps * cfg.S3Speed
		srv.throttle.setRate(rep.Servers.S3LimitMBps * 1e6)
	}
	if srv.throttle != nil && cfg.S3Stragglers > 0 {
		srv.throttle.stall.set(int64(float64(cfg.Produce.FlushBytes)/cfg.S3Stragglers), cfg.S3Stall)
	}
	t := target{name: "sluice", seeds: func() string { return srv.agentAddr }, obs: &observer{srv: srv}}
	if srv.agent != nil {
		t.restart = srv.restartAgent
	}
	if rep.Sluice, err = runLoad(ctx, cfg, t, prog); err != nil {
		return nil, fmt.Errorf("loading sluice: %w", err)
	}
	if !cfg.SkipKfake {
		if rep.Kfake, err = runKfake(ctx, cfg, prog); err != nil {
			return nil, fmt.Errorf("loading kfake: %w", err)
		}
	}
	rep.Machine.LoadAvgAfter = loadAvg()
	rep.Targets = targets(rep)
	rep.print(deps.Out)
	if cfg.JSON != "" {
		if err := rep.write(cfg.JSON); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// checkWritable creates each of paths that is set, so that a path the
// bench cannot write fails at the start and not after minutes of load.
func checkWritable(paths ...string) error {
	for _, p := range paths {
		if p == "" {
			continue
		}
		if dir := filepath.Dir(p); dir != "." {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("cannot write %s: %w", p, err)
			}
		}
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE, 0o644)
		if err != nil {
			return fmt.Errorf("cannot write %s: %w", p, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("cannot write %s: %w", p, err)
		}
	}
	return nil
}

// runKfake runs the same load against franz-go's in-memory broker, in this
// process, with one broker as Sluice has one agent.
func runKfake(ctx context.Context, cfg Config, prog *progress) (*Load, error) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		return nil, fmt.Errorf("starting kfake: %w", err)
	}
	defer c.Close()
	return runLoad(ctx, cfg, target{name: "kfake", seeds: func() string { return c.ListenAddrs()[0] }}, prog)
}

func (r *Report) write(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	return nil
}
