package integration

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/integration/testenv"
)

// sluiceBin is the agent binary built once by TestMain.
var sluiceBin string

func TestMain(m *testing.M) {
	// The binary goes under the repo's ignored bin/, built without the race
	// detector: the agents are the system under test, and throughput tests
	// would otherwise measure the detector.
	sluiceBin = filepath.Join("..", "bin", "sluice-integration")
	build := exec.Command("go", "build", "-o", sluiceBin, "github.com/sluicehq/sluice/cmd/sluice")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building sluice:", err)
		os.Exit(1)
	}
	testenv.Main(m)
}

// agentProc is one `sluice agent` (or `sluice dev`) process.
type agentProc struct {
	t       testing.TB
	cmd     *exec.Cmd
	addr    string // Kafka bootstrap address
	http    string // metrics and health address
	mu      sync.Mutex
	logs    bytes.Buffer
	exited  chan struct{}
	waitErr error
}

// freePort returns a loopback address nothing listens on right now.
func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startAgent runs `sluice agent` on the given Redis and bucket.
func startAgent(t testing.TB, redisURL, bucketURL string, args ...string) *agentProc {
	t.Helper()
	return startSluice(t, append([]string{"agent", "--redis", redisURL, "--bucket", bucketURL,
		"--accept-redis-data-loss"}, args...)...)
}

// startSluice runs the binary with args plus a free Kafka and HTTP port,
// and waits until it answers on both.
func startSluice(t testing.TB, args ...string) *agentProc {
	t.Helper()
	a := &agentProc{t: t, addr: freePort(t), http: freePort(t), exited: make(chan struct{})}
	args = append(args, "--listen", a.addr, "--http-listen", a.http)
	a.cmd = exec.Command(sluiceBin, args...)
	a.cmd.Stdout, a.cmd.Stderr = &lockedWriter{a}, &lockedWriter{a}
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := a.cmd.Start(); err != nil {
		t.Fatalf("starting sluice: %v", err)
	}
	go func() { a.waitErr = a.cmd.Wait(); close(a.exited) }()
	t.Cleanup(func() {
		a.Kill()
		if t.Failed() {
			t.Logf("sluice %s logs:\n%s", strings.Join(args, " "), a.Logs())
		}
	})
	a.waitReady()
	return a
}

func (a *agentProc) waitReady() {
	a.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-a.exited:
			a.t.Fatalf("sluice exited at start: %v\n%s", a.waitErr, a.Logs())
		default:
		}
		if c, err := net.DialTimeout("tcp", a.addr, time.Second); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	a.t.Fatalf("sluice did not listen on %s within 30s\n%s", a.addr, a.Logs())
}

// Kill ends the process with SIGKILL, as a crash would.
func (a *agentProc) Kill() {
	_ = a.cmd.Process.Signal(syscall.SIGKILL)
	<-a.exited
}

// Term sends SIGTERM and waits for the drain to end.
func (a *agentProc) Term(timeout time.Duration) error {
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.exited:
		return a.waitErr
	case <-time.After(timeout):
		a.Kill()
		return fmt.Errorf("sluice did not exit within %s of SIGTERM", timeout)
	}
}

func (a *agentProc) Logs() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.logs.String()
}

// Metric sums every sample of a Prometheus metric whose labels contain all
// of the given label pairs (name="value").
func (a *agentProc) Metric(name string, labels ...string) float64 {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+a.http+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("scraping metrics: %v", err)
	}
	defer resp.Body.Close()
	return sumMetric(resp.Body, name, labels)
}

func sumMetric(r io.Reader, name string, labels []string) float64 {
	var sum float64
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		match := true
		for _, l := range labels {
			if !strings.Contains(line, l) {
				match = false
			}
		}
		if !match {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			sum += v
		}
	}
	return sum
}

type lockedWriter struct{ a *agentProc }

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.a.mu.Lock()
	defer w.a.mu.Unlock()
	return w.a.logs.Write(p)
}

// newAdmin returns an admin client closed with the test.
func newAdmin(t testing.TB, seeds string) *kadm.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(seeds, ",")...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}
