package integration

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/integration/testenv"
)

// kcatRoundTrip produces lines with kcat's defaults (librdkafka, idempotence
// off, acks=all) and consumes them back from the beginning.
func kcatRoundTrip(t *testing.T, kcat, seeds, topic string) {
	t.Helper()
	var in strings.Builder
	const n = 1000
	for i := range n {
		fmt.Fprintf(&in, "line-%04d\n", i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	prod := exec.CommandContext(ctx, kcat, "-b", seeds, "-t", topic, "-P")
	prod.Stdin = strings.NewReader(in.String())
	if out, err := prod.CombinedOutput(); err != nil {
		t.Fatalf("kcat -P: %v\n%s", err, out)
	}
	cons := exec.CommandContext(ctx, kcat, "-b", seeds, "-t", topic, "-C", "-o", "beginning", "-e", "-q",
		"-f", "%p %o %s\n")
	out, err := cons.Output()
	if err != nil {
		t.Fatalf("kcat -C: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != n {
		t.Fatalf("kcat read %d lines, want %d:\n%s", len(lines), n, out)
	}
	for i, line := range lines {
		if want := fmt.Sprintf("0 %d line-%04d", i, i); line != want {
			t.Fatalf("line %d = %q, want %q", i, line, want)
		}
	}
}

func TestKcatAgainstAgent(t *testing.T) {
	kcat := testenv.Need(t, "kcat")
	rd := testenv.StartRedis(t)
	s3 := testenv.StartS3(t)
	a := startAgent(t, rd.URL(), s3.URL())
	kcatRoundTrip(t, kcat, a.addr, "kcat-agent")
}

func TestKcatAgainstDev(t *testing.T) {
	kcat := testenv.Need(t, "kcat")
	dir := t.TempDir()
	a := startSluice(t, "dev", "--data-dir", dir)
	kcatRoundTrip(t, kcat, a.addr, "kcat-dev")

	// The dev store keeps its data across a restart.
	a.Kill()
	b := startSluice(t, "dev", "--data-dir", dir)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, kcat, "-b", b.addr, "-t", "kcat-dev", "-C", "-o", "beginning", "-e", "-q").Output()
	if err != nil || strings.Count(string(out), "\n") != 1000 {
		t.Fatalf("after restart kcat read %d lines (err %v)", strings.Count(string(out), "\n"), err)
	}
}
