package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	startTimeout = 30 * time.Second
	stopTimeout  = 10 * time.Second
	outputLimit  = 64 << 10
)

// errExited means a child died while the bench waited for it to serve.
var errExited = errors.New("exited during startup")

// child is one server process the bench started. Its wait goroutine is owned
// by the child: it starts in startChild and ends when the process exits,
// which stop waits for.
type child struct {
	name string
	cmd  *exec.Cmd
	out  *tail
	done chan struct{}
	err  error // set before done is closed
}

// startChild starts bin in its own process group, so that stop reaches
// whatever it forks. env entries replace the bench's variables of the same
// name; one with an empty value ("KEY=") removes it.
func startChild(name, bin string, env []string, args ...string) (*child, error) {
	cmd := exec.Command(bin, args...)
	out := &tail{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = mergeEnv(os.Environ(), env)
	cmd.SysProcAttr = sysProcAttr()
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

func mergeEnv(base, env []string) []string {
	set := map[string]bool{}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		set[k] = true
	}
	var out []string
	for _, kv := range base {
		if k, _, _ := strings.Cut(kv, "="); !set[k] {
			out = append(out, kv)
		}
	}
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); v != "" {
			out = append(out, k+"="+v)
		}
	}
	return out
}

func (c *child) pid() int { return c.cmd.Process.Pid }

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the process group and SIGKILL after stopTimeout.
func (c *child) stop() error {
	if c.exited() {
		return nil
	}
	_ = syscall.Kill(-c.pid(), syscall.SIGTERM)
	select {
	case <-c.done:
		return nil
	case <-time.After(stopTimeout):
		_ = syscall.Kill(-c.pid(), syscall.SIGKILL)
		<-c.done
		return fmt.Errorf("%s (pid %d) ignored SIGTERM for %v; killed it", c.name, c.pid(), stopTimeout)
	}
}

// waitReady polls ready until it returns nil, the child exits, ctx ends or
// startTimeout passes.
func (c *child) waitReady(ctx context.Context, what string, ready func(ctx context.Context) error) error {
	deadline := time.Now().Add(startTimeout)
	for {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		last := ready(rctx)
		cancel()
		switch {
		case last == nil:
			return nil
		case c.exited():
			return fmt.Errorf("%s %w (%v) before it could %s:\n%s", c.name, errExited, c.err, what, c.out)
		case ctx.Err() != nil:
			return ctx.Err()
		case time.Now().After(deadline):
			return fmt.Errorf("%s did not %s within %v: %w\n%s", c.name, what, startTimeout, last, c.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tail keeps the end of a child's output, to explain a failed start.
type tail struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(b)
	if t.buf.Len() > 2*outputLimit {
		t.buf.Next(t.buf.Len() - outputLimit)
	}
	return len(b), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimRight(t.buf.String(), "\n")
}

// findBinary looks for name beside the running executable, then in the bin/
// directory of the repository holding the working directory (where `make
// deps` builds versitygw), then on PATH.
func findBinary(name string) (string, error) {
	var dirs []string
	if exe, err := os.Executable(); err == nil {
		dirs = append(dirs, filepath.Dir(exe))
	}
	if dir, err := os.Getwd(); err == nil {
		for ; ; dir = filepath.Dir(dir) {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				dirs = append(dirs, filepath.Join(dir, "bin"))
				break
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s not found beside the sluice binary, in the repository's bin/ or on PATH: run `make deps`", name)
}
