package testenv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Redis is a redis-server child process owned by one test.
type Redis struct {
	t    testing.TB
	bin  string
	port int
	out  *output

	mu   sync.Mutex
	cfg  redisConfig
	proc *proc
}

type redisConfig struct {
	dir  string
	aof  bool
	args []string
}

// A RedisOpt changes how StartRedis or Restart runs redis-server.
type RedisOpt func(*redisConfig)

// WithAOF turns on the append-only file with appendfsync always: what Sluice
// requires of a production Redis, and what a test of "acked writes survive a
// Redis restart" needs.
func WithAOF() RedisOpt { return func(c *redisConfig) { c.aof = true } }

// WithDir runs the server on dir instead of a fresh temporary directory. The
// harness never deletes dir, so a test can restart on its own data or on an
// older copy of it.
func WithDir(dir string) RedisOpt { return func(c *redisConfig) { c.dir = dir } }

// WithArgs appends raw redis-server arguments, such as
// "--notify-keyspace-events", "KEA". Later arguments win over the harness'.
func WithArgs(args ...string) RedisOpt {
	return func(c *redisConfig) { c.args = append(c.args, args...) }
}

// StartRedis starts a dedicated redis-server on a free 127.0.0.1 port and
// returns once it answers PING. t.Cleanup stops it. Without WithAOF it keeps
// nothing on disk.
func StartRedis(t testing.TB, opts ...RedisOpt) *Redis {
	t.Helper()
	skipIfShort(t, "redis-server")
	r := &Redis{t: t, bin: Need(t, "redis-server"), out: &output{}}
	for _, o := range opts {
		o(&r.cfg)
	}
	if r.cfg.dir == "" {
		r.cfg.dir = t.TempDir()
	}
	logOnFailure(t, "redis-server", r.out)
	t.Cleanup(r.Stop)
	// The free port can be taken between probing and binding; a fresh port
	// is the fix, so retry a few times on an early exit.
	var err error
	for range 3 {
		if r.port, err = freePort(); err != nil {
			break
		}
		if err = r.start(); !errors.Is(err, errExited) {
			break
		}
	}
	if err != nil {
		t.Fatalf("starting redis-server: %v", err)
	}
	return r
}

func (r *Redis) start() error {
	args := []string{
		"--port", strconv.Itoa(r.port),
		"--bind", "127.0.0.1",
		"--dir", r.cfg.dir,
		"--save", "",
		"--appendonly", "no",
		// The harness stops the server; redis must not stop itself.
		"--daemonize", "no",
	}
	if r.cfg.aof {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	}
	args = append(args, r.cfg.args...)
	r.out.mark("redis-server %s", strings.Join(args, " "))
	p, err := startProc("redis-server", r.out, r.bin, args...)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.proc = p
	r.mu.Unlock()
	if err := p.waitReady("answer PING on "+r.Addr(), r.ping); err != nil {
		p.kill()
		return err
	}
	return nil
}

// ping succeeds once the server answers PONG, which it does not while it
// still loads its append-only file (it answers -LOADING).
func (r *Redis) ping(ctx context.Context) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", r.Addr())
	if err != nil {
		return err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line = strings.TrimSpace(line); line != "+PONG" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// Addr is the server's host:port.
func (r *Redis) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port)) }

// URL is the server's redis:// URL, database 0.
func (r *Redis) URL() string { return "redis://" + r.Addr() + "/0" }

// Dir is the server's data directory.
func (r *Redis) Dir() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cfg.dir
}

// Stop shuts the server down with SIGTERM, as an operator would, and waits
// for it to exit. With WithAOF the file is complete afterwards.
func (r *Redis) Stop() {
	r.mu.Lock()
	p := r.proc
	r.mu.Unlock()
	if p == nil {
		return
	}
	if err := p.stop(); err != nil {
		r.t.Errorf("stopping redis-server: %v", err)
	}
}

// Kill ends the server with SIGKILL, as a crash would, and waits for it.
func (r *Redis) Kill() {
	r.mu.Lock()
	p := r.proc
	r.mu.Unlock()
	if p != nil {
		p.kill()
	}
}

// Restart stops the server if it still runs, then starts it again on the
// same port and, unless opts say otherwise (WithDir), the same directory, and
// waits for PING. Options add to those StartRedis was given.
func (r *Redis) Restart(t testing.TB, opts ...RedisOpt) {
	t.Helper()
	r.Stop()
	r.mu.Lock()
	for _, o := range opts {
		o(&r.cfg)
	}
	r.mu.Unlock()
	r.out.mark("restart")
	if err := r.start(); err != nil {
		t.Fatalf("restarting redis-server on %s: %v", r.Addr(), err)
	}
}
