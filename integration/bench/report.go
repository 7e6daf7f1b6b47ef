package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Target is one goal Sluice is measured against: Value must be at least
// (AtLeast) or at most Bound. Reference is the figure the bound comes from
// (raw PUT MB/s, kfake's MB/s; the bound itself for sums), and Ratio is
// Value/Reference.
type Target struct {
	Name      string  `json:"name"`
	Want      string  `json:"want"`
	Value     float64 `json:"value"`
	Reference float64 `json:"reference"`
	Bound     float64 `json:"bound"`
	AtLeast   bool    `json:"at_least"`
	Ratio     float64 `json:"ratio"`
	Pass      bool    `json:"pass"`
}

// atLeast is a target of value >= share * ref.
func atLeast(name, want string, value, share, ref float64) Target {
	t := Target{Name: name, Want: want, Value: value, Reference: ref, Bound: share * ref, AtLeast: true}
	if ref > 0 {
		t.Ratio = value / ref
	}
	t.Pass = value >= t.Bound
	return t
}

// atMost is a target of value <= bound.
func atMost(name, want string, value, bound float64) Target {
	t := Target{Name: name, Want: want, Value: value, Reference: bound, Bound: bound}
	if bound > 0 {
		t.Ratio = value / bound
	}
	t.Pass = value <= bound
	return t
}

// targets checks the figures against the physical limit and the reference
// broker. A target whose reference was not measured is left out.
func targets(r *Report) []Target {
	s, c, k, p := r.Sluice, r.Ceiling, r.Kfake, r.Config.Produce
	var ts []Target
	if c != nil {
		ts = append(ts, atLeast("produce MB/s, producers alone", ">= 70% of raw PUT MB/s", s.Alone.MBps, 0.7, c.PutMBps))
		bound := float64(p.FlushInterval.Milliseconds()) + c.PutLatency.P99 + 10
		ts = append(ts, atMost("produce p99 ms, half load", "<= flush interval + raw PUT p99 + 10ms", s.Half.Produce.P99, bound))
	}
	ts = append(ts, atMost("e2e p99 ms, half load", "<= produce p99 + 50ms", s.Half.EndToEnd.P99, s.Half.Produce.P99+50))
	if k != nil {
		ts = append(ts, atLeast("tail consume MB/s", ">= 50% of kfake", s.Full.ConsumeMBps, 0.5, k.Full.ConsumeMBps))
	}
	if c != nil {
		ts = append(ts, atLeast("replay MB/s", ">= 70% of raw GET MB/s", s.ReplayMBps, 0.7, c.GetMBps))
	}
	if s.Cost != nil && s.Cost.Proc {
		rss := float64(max(s.Cost.PeakRSSBytes, s.Cost.ReplayPeakRSSBytes)) / (1 << 20)
		ts = append(ts, atMost("agent peak RSS MiB", "< buffer-bytes + 256MiB", rss, float64(p.BufferBytes>>20)+256))
	}
	return ts
}

// print writes the table: Sluice, kfake and the S3 ceiling side by side,
// then the targets.
func (r *Report) print(out io.Writer) {
	cfg, s, k, c := r.Config, r.Sluice, r.Kfake, r.Ceiling
	fmt.Fprintf(out, "\nsluice bench: %d B records, %d partitions, %d producers, %d consumers, acks=%s, %s full load; %d CPUs\n",
		cfg.RecordSize, cfg.Partitions, cfg.Producers, cfg.Consumers, cfg.Acks, cfg.Duration, r.Machine.CPUs)
	if r.Machine.LoadAvgBefore != "" {
		fmt.Fprintf(out, "load average before: %s, after: %s\n", r.Machine.LoadAvgBefore, r.Machine.LoadAvgAfter)
	}
	fmt.Fprintf(out, "agent: flush %s or %d MiB, buffer %d MiB, %d uploads; redis %s; bucket %s\n\n",
		cfg.Produce.FlushInterval, cfg.Produce.FlushBytes>>20, cfg.Produce.BufferBytes>>20, cfg.Produce.Uploads,
		origin(r.Servers.StartedRedis, "redis-server (appendfsync always)", r.Servers.Redis),
		origin(r.Servers.StartedS3, "versitygw posix", r.Servers.Bucket))
	if cfg.AgentArgs != "" || cfg.TopicConfigs != "" {
		fmt.Fprintf(out, "agent flags: %q; topic configs: %q\n\n", cfg.AgentArgs, cfg.TopicConfigs)
	}
	if v := r.Servers.S3LimitMBps; v > 0 {
		fmt.Fprintf(out, "S3 slowed for the agent to %.0f%% of raw PUT: %.1f MB/s each way\n\n", 100*cfg.S3Speed, v)
	}
	if cfg.S3Stragglers > 0 {
		fmt.Fprintf(out, "S3 stalls one PUT in %.0f (by flush-sized bytes) for %s; agent hedges %.0f%% of uploads\n\n",
			1/cfg.S3Stragglers, cfg.S3Stall, 100*cfg.Produce.UploadHedges)
	}
	row := func(cells ...string) {
		fmt.Fprintln(out, strings.TrimRight(fmt.Sprintf("%-46s %16s %16s   %s", cells[0], cells[1], cells[2], cells[3]), " "))
	}
	col := func(f func(l *Load) string) (string, string) { return f(s), orNA(k, f) }
	ceil := func(f func(c *Ceiling) string) string {
		if c == nil {
			return ""
		}
		return f(c)
	}
	row("", "sluice", "kfake", "S3 ceiling")
	a, b := col(func(l *Load) string { return f1(l.Alone.MBps) })
	row("produce MB/s, producers alone", a, b, ceil(func(c *Ceiling) string {
		return fmt.Sprintf("PUT %s (%d MiB x%d)", f1(c.PutMBps), c.ObjectBytes>>20, c.PutConcurrency)
	}))
	a, b = col(func(l *Load) string { return f0(l.Alone.RecordsPerSec) })
	row("  records/s", a, b, "")
	a, b = col(func(l *Load) string { return f1(l.Full.MBps) })
	row("produce MB/s, consumers at the tail", a, b, "")
	a, b = col(func(l *Load) string { return f0(l.Full.RecordsPerSec) })
	row("  records/s", a, b, "")
	a, b = col(func(l *Load) string { return lat3(l.Full.Produce) })
	row("produce p50/p99/p999 ms", a, b, ceil(func(c *Ceiling) string { return "PUT p50/p99 " + lat2(c.PutLatency) }))
	a, b = col(func(l *Load) string { return lat3(l.Half.Produce) })
	row("  at half load", a, b, "")
	a, b = col(func(l *Load) string { return f0(l.Half.RecordsPerSec) })
	row("  half-load records/s", a, b, "")
	a, b = col(func(l *Load) string { return lat2(l.Full.EndToEnd) })
	row("e2e p50/p99 ms", a, b, "")
	a, b = col(func(l *Load) string { return lat2(l.Half.EndToEnd) })
	row("  at half load", a, b, "")
	a, b = col(func(l *Load) string { return f1(l.Full.ConsumeMBps) })
	row("tail consume MB/s", a, b, "")
	a, b = col(func(l *Load) string { return catchUp(l.Full.CatchUpSeconds) + " / " + catchUp(l.Half.CatchUpSeconds) })
	row("consumers catch up after full / half s", a, b, "")
	a, b = col(func(l *Load) string { return f1(l.ReplayMBps) })
	row("replay MB/s", a, b, ceil(func(c *Ceiling) string {
		return fmt.Sprintf("GET %s (x%d), p50/p99 %s", f1(c.GetMBps), c.GetConcurrency, lat2(c.GetLatency))
	}))
	a, b = col(func(l *Load) string {
		return fmt.Sprintf("%d/%d", l.Full.Failed+l.Half.Failed+l.Alone.Failed, l.ConsumeErrors)
	})
	row("failed produces/consume errors", a, b, "")
	if s.Cost != nil {
		r.printCost(row, s.Cost, r.Machine.CPUs)
	}
	if len(r.Targets) > 0 {
		fmt.Fprintln(out, "\ntargets")
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		for _, t := range r.Targets {
			verdict := "FAIL"
			if t.Pass {
				verdict = "ok"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\tof %s\t= %.0f%%\t%s\n", t.Name, t.Want, f1(t.Value), f1(t.Reference), 100*t.Ratio, verdict)
		}
		tw.Flush()
	}
}

func (r *Report) printCost(row func(...string), c *Cost, cores int) {
	if c.Metrics {
		row("S3 PUTs per GiB / per agent-s", fmt.Sprintf("%s / %s", f1(c.PutsPerGiB), f1(c.PutsPerAgentSec)), "", "")
		row("  uploads hedged (second won)", fmt.Sprintf("%.0f (%.0f)", c.Hedges, c.HedgesWon), "", "")
		row("S3 GETs per GiB tail / replay", fmt.Sprintf("%s / %s", f1(c.TailGetsPerGiB), f1(c.ReplayGetsPerGiB)), "", "")
		row("S3 GETs per agent-s tail / replay", fmt.Sprintf("%s / %s", f1(c.TailGetsPerAgentSec), f1(c.ReplayGetsPerAgentSec)), "", "")
		row("S3 HEADs per GiB replayed", f1(c.ReplayHeadsPerGiB), "", "")
		row("compactions full / half / alone / replay", fmt.Sprintf("%.0f / %.0f / %.0f / %.0f",
			c.Compactions[0], c.Compactions[1], c.Compactions[2], c.Compactions[3]), "", "")
	}
	if c.Metrics && c.Redis {
		row("Redis scripts/s of the agent alone (cmds)", fmt.Sprintf("%s (%s)", f1(c.RedisIdleScriptsPerSec), f1(c.RedisIdlePerSec)), "", "")
		row("Redis scripts per flush (commands they ran)", fmt.Sprintf("%s (%s)", f2(c.RedisScriptsPerFlush), f2(c.RedisPerFlush)), "", "")
		row("Redis cmds per Fetch tail / replay", fmt.Sprintf("%s / %s", perFetch(c.RedisPerTailFetch, c.TailFetches), perFetch(c.RedisPerReplayFetch, c.ReplayFetches)), "", "")
		row("  scripts per Fetch tail / replay", fmt.Sprintf("%s / %s", perFetch(c.RedisScriptsPerTailFetch, c.TailFetches), perFetch(c.RedisScriptsPerReplayFetch, c.ReplayFetches)), "", "")
		row("  Fetches tail / replay", fmt.Sprintf("%.0f / %.0f", c.TailFetches, c.ReplayFetches), "", "")
	}
	byProc := func(m map[string]float64, format string) string {
		var parts []string
		for _, name := range []string{agentName, "versitygw", "redis-server", "bench"} {
			if v, ok := m[name]; ok {
				parts = append(parts, fmt.Sprintf("%s "+format, strings.TrimPrefix(name, "sluice "), v))
			}
		}
		return strings.Join(parts, ", ")
	}
	if len(c.FullLoadCores) > 0 {
		row("CPU cores in full load", byProc(c.FullLoadCores, "%.2f"), "", "")
	}
	if len(c.AloneCPUSecPerGiB) > 0 {
		row("CPU s per GiB, producers alone", byProc(c.AloneCPUSecPerGiB, "%.1f"), "", "")
		row("  produce MB/s if the agent cost nothing", f1(boundMBps(cores, c.AloneCPUSecPerGiB)), "", "")
	}
	if len(c.ReplayCPUSecPerGiBBy) > 0 {
		row("CPU s per GiB replayed", byProc(c.ReplayCPUSecPerGiBBy, "%.1f"), "", "")
		row("  replay MB/s if the agent cost nothing", f1(boundMBps(cores, c.ReplayCPUSecPerGiBBy)), "", "")
	}
	if c.Proc {
		row("agent CPU s per GiB produced alone / replayed", fmt.Sprintf("%s / %s", f1(c.CPUSecPerGiB), f1(c.ReplayCPUSecPerGiB)), "", "")
		row("agent peak RSS MiB produce / replay", fmt.Sprintf("%d / %d", c.PeakRSSBytes>>20, c.ReplayPeakRSSBytes>>20), "", "")
	}
}

func origin(started bool, what, url string) string {
	if started {
		return "started " + what
	}
	return url
}

func catchUp(s float64) string {
	if s < 0 {
		return "never"
	}
	return f1(s)
}

func orNA(l *Load, f func(*Load) string) string {
	if l == nil {
		return "-"
	}
	return f(l)
}

func f0(v float64) string { return fmt.Sprintf("%.0f", v) }
func f1(v float64) string { return fmt.Sprintf("%.1f", v) }

// perFetch prints a per-Fetch figure, or n/a when no Fetch was answered
// to divide by.
func perFetch(v, fetches float64) string {
	if fetches == 0 {
		return "n/a"
	}
	return f2(v)
}
func f2(v float64) string { return fmt.Sprintf("%.2f", v) }

// ms prints a latency with a decimal only below 10ms.
func ms(v float64) string {
	if v < 10 {
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

func lat2(l Latency) string { return ms(l.P50) + "/" + ms(l.P99) }
func lat3(l Latency) string { return ms(l.P50) + "/" + ms(l.P99) + "/" + ms(l.P999) }
