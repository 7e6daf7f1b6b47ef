package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/integration/bench"
	"github.com/sluicehq/sluice/integration/testenv"
)

// sluiceBin is the binary the bench runs agents from, built by TestMain
// without the race detector, as `make bench` builds it.
var sluiceBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sluice-bench-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sluiceBin = filepath.Join(dir, "sluice")
	build := exec.Command("go", "build", "-o", sluiceBin, "github.com/sluicehq/sluice/cmd/sluice")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building sluice:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testWriter sends progress lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// runBench runs a brief bench, with args after a small load's flags, on
// servers it starts, and returns the report and the printed table.
func runBench(t *testing.T, args ...string) (*bench.Report, *bytes.Buffer) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: the bench starts redis-server, versitygw and an agent")
	}
	testenv.Need(t, "redis-server")
	testenv.Need(t, "versitygw")

	var cfg bench.Config
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	cfg.RegisterFlags("", fs)
	small := []string{"--duration=2s", "--partitions=4", "--producers=2", "--consumers=2", "--flush-bytes=1048576"}
	if err := fs.Parse(append(small, args...)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	rep, err := bench.Run(ctx, cfg, bench.Deps{AgentBinary: sluiceBin, Out: &out, Progress: testWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(out.String())
	return rep, &out
}

// TestBenchSmoke runs every part of the bench briefly on servers it starts
// and checks that each produced figures and the report was written. It
// checks no timing: figures on a shared CI machine say nothing.
func TestBenchSmoke(t *testing.T) {
	report := filepath.Join(t.TempDir(), "out", "bench.json")
	rep, out := runBench(t, "--json", report)

	if c := rep.Ceiling; c == nil || c.Puts == 0 || c.Gets == 0 {
		t.Errorf("S3 ceiling = %+v, want PUTs and GETs", rep.Ceiling)
	}
	for _, l := range []*bench.Load{rep.Sluice, rep.Kfake} {
		if l == nil {
			t.Fatal("a load is missing from the report")
		}
		produced := l.Full.Records + l.Half.Records + l.Alone.Records
		if failed := l.Full.Failed + l.Half.Failed + l.Alone.Failed; l.Full.Records == 0 || l.Half.Records == 0 ||
			l.Alone.Records == 0 || failed != 0 {
			t.Errorf("%s: produced %d, %d and %d records, %d failed", l.Broker, l.Full.Records, l.Half.Records, l.Alone.Records, failed)
		}
		// Replay stops at --duration, so it may not reach the end.
		if l.ReplayRecords == 0 || l.ConsumeErrors != 0 {
			t.Errorf("%s: replayed %d of %d records, %d consume errors", l.Broker, l.ReplayRecords, produced, l.ConsumeErrors)
		}
	}
	c := rep.Sluice.Cost
	if c == nil || !c.Metrics || !c.Proc || !c.Redis || c.Flushes == 0 || c.PutsPerGiB == 0 ||
		c.RedisScriptsPerFlush == 0 || c.CPUSecPerGiB == 0 || c.PeakRSSBytes == 0 {
		t.Errorf("sluice cost = %+v, want every figure", c)
	}
	if len(rep.Targets) != 6 || !strings.Contains(out.String(), "targets") {
		t.Errorf("got %d targets, want 6, in the table:\n%s", len(rep.Targets), out.String())
	}
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var back bench.Report
	if err := json.Unmarshal(data, &back); err != nil || back.Sluice == nil || back.Sluice.Full.Records != rep.Sluice.Full.Records {
		t.Errorf("JSON report does not read back (%v):\n%s", err, data)
	}
}

// TestBenchSlowS3 runs the bench briefly with the agent's S3 slowed to a
// tenth of its raw PUT throughput and a small produce buffer, so that the
// buffer fills: producers wait, nothing fails, and the agent lives on.
func TestBenchSlowS3(t *testing.T) {
	rep, out := runBench(t, "--skip-kfake", "--buffer-bytes=4194304", "--s3-speed=0.1")
	if rep.Servers.S3LimitMBps <= 0 || !strings.Contains(out.String(), "S3 slowed") {
		t.Errorf("S3 limit = %v MB/s, want one set and reported", rep.Servers.S3LimitMBps)
	}
	l := rep.Sluice
	if failed := l.Full.Failed + l.Half.Failed + l.Alone.Failed; l.Full.Records == 0 || failed != 0 || l.ConsumeErrors != 0 {
		t.Errorf("slowed S3: %d records answered in full load, %d failed, %d consume errors", l.Full.Records, failed, l.ConsumeErrors)
	}
}

// TestBenchStragglers runs the bench briefly with one PUT in five stalled
// for a second: the agent hedges the stragglers with second PUTs, some of
// which finish first, and no record fails.
func TestBenchStragglers(t *testing.T) {
	rep, out := runBench(t, "--skip-kfake", "--skip-ceiling", "--s3-stragglers=0.2", "--s3-stall=1s", "--upload-hedges=0.5")
	if !strings.Contains(out.String(), "S3 stalls one PUT in 5") {
		t.Errorf("the stalls are not reported")
	}
	l := rep.Sluice
	if failed := l.Full.Failed + l.Half.Failed + l.Alone.Failed; l.Full.Records == 0 || failed != 0 || l.ConsumeErrors != 0 {
		t.Errorf("stalled PUTs: %d records answered in full load, %d failed, %d consume errors", l.Full.Records, failed, l.ConsumeErrors)
	}
	if c := l.Cost; c == nil || c.HedgesWon == 0 {
		t.Errorf("cost = %+v, want hedges that won", c)
	}
}

// A profile or report path the bench cannot write is refused before any
// server starts, not after the load.
func TestBenchRefusesAnUnwritablePath(t *testing.T) {
	var cfg bench.Config
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	cfg.RegisterFlags("", fs)
	if err := fs.Parse([]string{"--agent-profile", t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	if _, err := bench.Run(t.Context(), cfg, bench.Deps{}); err == nil || !strings.Contains(err.Error(), "cannot write") {
		t.Fatalf("Run with a directory as the profile path = %v, want cannot write", err)
	}
}
