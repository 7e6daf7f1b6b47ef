package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// snapshot is what the agent and Redis had counted at one moment. A zero
// field means the figure could not be read (no /metrics address, no
// process, no Redis).
type snapshot struct {
	at time.Time
	// From the agent's /metrics.
	metrics  bool
	puts     float64 // sluice_bucket_operations_total{operation="upload"}
	hedges   float64 // sluice_bucket_upload_hedges_total, second PUTs of a straggler
	hedgeWon float64 // {result="won"}
	gets     float64 // {operation="get_range"}
	heads    float64 // {operation="size"}
	flushes  float64 // sluice_produce_flushes_total
	fetches  float64 // sluice_agent_requests_total{api="Fetch"}
	produces float64 // {api="Produce"}
	// compactions is sluice_agent_compactions_total: compaction competes
	// for the same cores and memory, so a phase it fell in is told.
	compactions float64
	// From /proc, for an agent the bench started.
	proc bool
	cpu  time.Duration // utime + stime
	hwm  int64         // VmHWM: peak resident set, bytes
	// CPU time of every process on the machine's load side: the children
	// the bench started, by name, and "bench" (clients, and kfake).
	cpuBy map[string]time.Duration
	// From Redis INFO commandstats: calls per command.
	redis map[string]int64
}

// observer reads snapshots of the agent currently under test.
type observer struct {
	srv *servers
}

func (o *observer) snapshot(ctx context.Context) (snapshot, error) {
	s := snapshot{at: time.Now()}
	if o.srv.agentHTTP != "" {
		text, err := scrape(ctx, o.srv.agentHTTP)
		if err != nil {
			return s, err
		}
		s.metrics = true
		s.puts = sumMetric(text, "sluice_bucket_operations_total", `operation="upload"`)
		s.hedges = sumMetric(text, "sluice_bucket_upload_hedges_total")
		s.hedgeWon = sumMetric(text, "sluice_bucket_upload_hedges_total", `result="won"`)
		s.gets = sumMetric(text, "sluice_bucket_operations_total", `operation="get_range"`)
		s.heads = sumMetric(text, "sluice_bucket_operations_total", `operation="size"`)
		s.flushes = sumMetric(text, "sluice_produce_flushes_total")
		s.fetches = sumMetric(text, "sluice_agent_requests_total", `api="Fetch"`)
		s.produces = sumMetric(text, "sluice_agent_requests_total", `api="Produce"`)
		s.compactions = sumMetric(text, "sluice_agent_compactions_total")
	}
	if o.srv.agent != nil {
		var err error
		if s.cpu, s.hwm, err = procStats(o.srv.agent.pid()); err == nil {
			s.proc = true
		}
	}
	s.cpuBy = map[string]time.Duration{}
	for _, c := range o.srv.children {
		if cpu, _, err := procStats(c.pid()); err == nil && !c.exited() {
			s.cpuBy[c.name] += cpu
		}
	}
	if cpu, _, err := procStats(os.Getpid()); err == nil {
		s.cpuBy["bench"] = cpu
	}
	if opts := o.srv.redisOpts(); opts != nil {
		calls, err := commandStats(ctx, opts)
		if err != nil {
			return s, err
		}
		s.redis = calls
	}
	return s, nil
}

func scrape(ctx context.Context, addr string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("scraping the agent's metrics: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("scraping the agent's metrics: %w", err)
	}
	return string(b), nil
}

// sumMetric sums every sample of the Prometheus metric name whose labels
// contain all of the given name="value" pairs.
func sumMetric(text, name string, labels ...string) float64 {
	var sum float64
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		match := true
		for _, l := range labels {
			match = match && strings.Contains(line, l)
		}
		f := strings.Fields(line)
		if v, err := strconv.ParseFloat(f[len(f)-1], 64); match && err == nil {
			sum += v
		}
	}
	return sum
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat; it
// is 100 on every Linux architecture Go supports.
const clockTicks = 100

// procStats reads a process's CPU time and peak resident set from /proc.
func procStats(pid int) (cpu time.Duration, hwm int64, err error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// The command name (field 2) may hold spaces; fields after its closing
	// parenthesis start at field 3 (state). utime and stime are 14 and 15.
	rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("parsing /proc/%d/stat: %d fields", pid, len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("parsing /proc/%d/stat: %q %q", pid, f[11], f[12])
	}
	cpu = time.Duration(utime+stime) * time.Second / clockTicks
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, 0, fmt.Errorf("parsing VmHWM of %d: %w", pid, err)
			}
			hwm = kb << 10
		}
	}
	return cpu, hwm, nil
}

// commandStats returns Redis's calls per command (INFO commandstats). Redis
// counts the commands a Lua script runs as well as the script call itself.
func commandStats(ctx context.Context, opts *goredis.Options) (map[string]int64, error) {
	c := goredis.NewClient(opts)
	defer c.Close()
	info, err := c.Info(ctx, "commandstats").Result()
	if err != nil {
		return nil, fmt.Errorf("reading Redis INFO commandstats: %w", err)
	}
	calls := map[string]int64{}
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":calls=")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.SplitN(rest, ",", 2)[0], 10, 64)
		calls[strings.TrimPrefix(name, "cmdstat_")] = n
	}
	return calls, nil
}

// benchCommands are the commands the bench itself sends to Redis, left out
// of the agent's counts. A new client also sends HELLO and CLIENT SETINFO.
var benchCommands = map[string]bool{"info": true, "ping": true, "hello": true, "client|setinfo": true}

// redisDelta returns the commands run between two snapshots, all of them and
// the script calls alone (EVAL, EVALSHA, FCALL and their read-only forms:
// each one round trip however many commands the script runs).
func redisDelta(a, b snapshot) (all, scripts int64) {
	for name, n := range b.redis {
		d := n - a.redis[name]
		if benchCommands[name] || d <= 0 {
			continue
		}
		all += d
		switch name {
		case "eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro":
			scripts += d
		}
	}
	return all, scripts
}
