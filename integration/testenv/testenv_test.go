package testenv

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) { Main(m) }

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func redisClient(t *testing.T, r *Redis) *redis.Client {
	opt, err := redis.ParseURL(r.URL())
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

func TestRedisPing(t *testing.T) {
	t.Parallel()
	r := StartRedis(t)
	if got, err := redisClient(t, r).Ping(ctx(t)).Result(); err != nil || got != "PONG" {
		t.Fatalf("PING = %q, %v", got, err)
	}
	// Without WithAOF nothing may reach the disk: tests that need durability
	// must ask for it.
	c := redisClient(t, r)
	if got := c.ConfigGet(ctx(t), "appendonly").Val()["appendonly"]; got != "no" {
		t.Errorf("appendonly = %q, want no", got)
	}
	if got := c.ConfigGet(ctx(t), "save").Val()["save"]; got != "" {
		t.Errorf("save = %q, want empty", got)
	}
}

func TestRedisRestartKeepsAOFData(t *testing.T) {
	t.Parallel()
	r := StartRedis(t, WithAOF())
	c := redisClient(t, r)
	if got := c.ConfigGet(ctx(t), "appendfsync").Val()["appendfsync"]; got != "always" {
		t.Fatalf("appendfsync = %q, want always", got)
	}
	if err := c.Set(ctx(t), "k", "before", 0).Err(); err != nil {
		t.Fatal(err)
	}
	addr := r.Addr()

	// A crash loses nothing with appendfsync always.
	r.Kill()
	r.Restart(t)
	if r.Addr() != addr {
		t.Fatalf("restart moved the server from %s to %s", addr, r.Addr())
	}
	if got, err := c.Get(ctx(t), "k").Result(); err != nil || got != "before" {
		t.Fatalf("after kill and restart GET k = %q, %v; want before", got, err)
	}

	// Restart on an older copy of the data: what a restore from a stale
	// snapshot looks like to a client that keeps its address.
	r.Stop()
	old := filepath.Join(t.TempDir(), "old")
	if err := os.CopyFS(old, os.DirFS(r.Dir())); err != nil {
		t.Fatal(err)
	}
	r.Restart(t)
	if err := c.Set(ctx(t), "k", "after", 0).Err(); err != nil {
		t.Fatal(err)
	}
	r.Restart(t, WithDir(old))
	if got, err := c.Get(ctx(t), "k").Result(); err != nil || got != "before" {
		t.Fatalf("on the old copy GET k = %q, %v; want before", got, err)
	}
}

func TestRedisWithoutAOFForgets(t *testing.T) {
	t.Parallel()
	r := StartRedis(t)
	c := redisClient(t, r)
	if err := c.Set(ctx(t), "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	r.Restart(t)
	if n, err := c.Exists(ctx(t), "k").Result(); err != nil || n != 0 {
		t.Fatalf("EXISTS k after restart = %d, %v; want 0", n, err)
	}
}

func TestS3PutGet(t *testing.T) {
	t.Parallel()
	s := StartS3(t)
	if !strings.HasPrefix(s.URL(), "s3://"+s.Bucket()+"?") || !strings.Contains(s.URL(), "endpoint="+s.Endpoint()) {
		t.Errorf("URL() = %q", s.URL())
	}

	// The default credential chain, as the code under test uses it, must
	// find the keys Main put in the environment.
	cfg, err := config.LoadDefaultConfig(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	c := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(s.Endpoint())
		o.UsePathStyle = true
	})
	want := []byte("one object per flush")
	if _, err := c.PutObject(ctx(t), &s3.PutObjectInput{
		Bucket: aws.String(s.Bucket()), Key: aws.String("a/b"), Body: bytes.NewReader(want),
	}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	out, err := c.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String(s.Bucket()), Key: aws.String("a/b")})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	got, err := io.ReadAll(out.Body)
	out.Body.Close()
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("GetObject body = %q, %v; want %q", got, err, want)
	}
	if b, err := os.ReadFile(filepath.Join(s.Dir(), "a", "b")); err != nil || !bytes.Equal(b, want) {
		t.Errorf("object on disk = %q, %v", b, err)
	}

	// The data outlives a restart on the same port.
	s.Restart(t)
	if _, err := s.Client().HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: aws.String(s.Bucket()), Key: aws.String("a/b")}); err != nil {
		t.Fatalf("HeadObject after restart: %v", err)
	}
}

func TestNeedMissingSkipsOutsideCI(t *testing.T) {
	t.Setenv("CI", "false")
	var skipped bool
	t.Run("need", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		Need(t, "sluice-no-such-binary")
	})
	if !skipped {
		t.Error("Need did not skip a missing binary outside CI")
	}
}

// A failing subtest would fail this one too, so the CI=true case runs in a
// child test binary and its verdict is read from the exit code.
func TestNeedMissingFailsInCI(t *testing.T) {
	if os.Getenv("TESTENV_NEED_CHILD") == "1" {
		Need(t, "sluice-no-such-binary")
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestNeedMissingFailsInCI$", "-test.v")
	cmd.Env = append(os.Environ(), "CI=true", "TESTENV_NEED_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--- FAIL") || !strings.Contains(string(out), "make deps") {
		t.Fatalf("under CI=true a missing binary must fail, saying how to install it; got err %v, output:\n%s", err, out)
	}
}
