package integration

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/integration/testenv"
)

// runSluice runs the binary to completion and returns its exit code and
// standard error.
func runSluice(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sluiceBin, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("sluice %v did not exit within 30s", args)
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	return code, stderr.String()
}

// TestStartupErrorsSayWhatToFix: a bad URL, a missing bucket or an
// unreachable Redis ends the process at once with one line naming the fix.
func TestStartupErrorsSayWhatToFix(t *testing.T) {
	rd := testenv.StartRedis(t, testenv.WithAOF())
	s3 := testenv.StartS3(t)
	missingBucket := strings.Replace(s3.URL(), "s3://"+s3.Bucket(), "s3://no-such-bucket", 1)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"malformed redis URL", []string{"--redis", "http://x", "--bucket", s3.URL()}, "--redis"},
		{"unreachable redis", []string{"--redis", "redis://127.0.0.1:1/0", "--bucket", s3.URL()}, "--redis"},
		{"malformed bucket URL", []string{"--redis", rd.URL(), "--bucket", "ftp://x"}, "--bucket"},
		{"missing bucket", []string{"--redis", rd.URL(), "--bucket", missingBucket}, "no-such-bucket"},
		{"relative file bucket", []string{"--redis", rd.URL(), "--bucket", "file://relative/dir"}, "--bucket"},
		{"no flags", nil, "--redis is required"},
		{"bad flush interval", []string{"--redis", rd.URL(), "--bucket", s3.URL(), "--flush-interval", "0s"}, "--flush-interval"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stderr := runSluice(t, append([]string{"agent", "--listen", freePort(t), "--http-listen", ""}, c.args...)...)
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if code == 0 || len(lines) != 1 || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d, stderr %q: want one line naming %q", code, stderr, c.want)
			}
			t.Logf("%s", lines[0])
		})
	}
}

// TestRefusesRedisThatLosesWrites: without appendfsync always, the agent
// refuses to start unless the operator accepts the risk.
func TestRefusesRedisThatLosesWrites(t *testing.T) {
	rd := testenv.StartRedis(t)
	s3 := testenv.StartS3(t)
	code, stderr := runSluice(t, "agent", "--listen", freePort(t), "--http-listen", "", "--redis", rd.URL(), "--bucket", s3.URL())
	if code == 0 || !strings.Contains(stderr, "--accept-redis-data-loss") {
		t.Fatalf("exit %d, stderr %q: want a refusal naming --accept-redis-data-loss", code, stderr)
	}
	durable := testenv.StartRedis(t, testenv.WithAOF())
	a := startSluice(t, "agent", "--redis", durable.URL(), "--bucket", s3.URL())
	a.Kill()
}
