package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	startTimeout = 30 * time.Second // generous: -race tests share 2 cores
	stopTimeout  = 10 * time.Second
	pollEvery    = 20 * time.Millisecond
	outputLimit  = 256 << 10
)

// proc is one running child server. Its wait goroutine is owned by the proc:
// it starts in startProc and ends when the process exits, which stop and kill
// both wait for.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // set before done is closed
}

// live holds every proc still running, so Main can kill what a missing
// cleanup left behind.
var live = struct {
	sync.Mutex
	m map[*proc]struct{}
}{m: map[*proc]struct{}{}}

// startProc starts bin in its own process group with stdout and stderr going
// to out.
func startProc(name string, out *output, bin string, args ...string) (*proc, error) {
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	// A grandchild holding the output pipe must not block Wait forever.
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	live.Lock()
	live.m[p] = struct{}{}
	live.Unlock()
	go func() {
		p.err = cmd.Wait()
		live.Lock()
		delete(live.m, p)
		live.Unlock()
		close(p.done)
	}()
	return p, nil
}

// signal sends sig to the whole process group.
func (p *proc) signal(sig syscall.Signal) {
	_ = syscall.Kill(-p.cmd.Process.Pid, sig)
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop asks the server to shut down cleanly and kills it if it has not
// within stopTimeout.
func (p *proc) stop() error {
	if p.exited() {
		return nil
	}
	p.signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(stopTimeout):
		p.kill()
		return fmt.Errorf("%s (pid %d) ignored SIGTERM for %v; killed it", p.name, p.cmd.Process.Pid, stopTimeout)
	}
}

// kill sends SIGKILL and waits for the exit, which the kernel guarantees.
func (p *proc) kill() {
	p.signal(syscall.SIGKILL)
	<-p.done
}

func killAll() {
	live.Lock()
	ps := make([]*proc, 0, len(live.m))
	for p := range live.m {
		ps = append(ps, p)
	}
	live.Unlock()
	for _, p := range ps {
		p.kill()
	}
}

// errExited means the server died while the harness waited for it to serve.
var errExited = errors.New("exited during startup")

// waitReady polls ready until it returns nil, the process exits, or
// startTimeout passes.
func (p *proc) waitReady(what string, ready func(ctx context.Context) error) error {
	deadline := time.Now().Add(startTimeout)
	var last error
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		last = ready(ctx)
		cancel()
		if last == nil {
			return nil
		}
		if p.exited() {
			return fmt.Errorf("%s %w (%v) before %s", p.name, errExited, p.err, what)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not %s within %v: last error: %w", p.name, what, startTimeout, last)
		}
		time.Sleep(pollEvery)
	}
}

// freePort returns a loopback port nothing listens on right now. Another
// process may take it before the child binds it; callers retry on a fresh port
// when the child exits during startup.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// output keeps the tail of a child's stdout and stderr, across restarts, for
// the log of a failed test.
type output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *output) Write(b []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf.Write(b)
	if o.buf.Len() > 2*outputLimit {
		o.buf.Next(o.buf.Len() - outputLimit)
	}
	return len(b), nil
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

func (o *output) mark(format string, args ...any) {
	fmt.Fprintf(o, "--- testenv: "+format+" ---\n", args...)
}

// logOnFailure registers the cleanup that prints out if t failed. Register
// it before the cleanup that stops the server: cleanups run last-first, so
// the server's shutdown output is in it.
func logOnFailure(t testing.TB, name string, out *output) {
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s output:\n%s", name, strings.TrimRight(out.String(), "\n"))
		}
	})
}
