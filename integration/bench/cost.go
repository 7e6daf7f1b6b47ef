package bench

const gib = 1 << 30

// Cost is what the load cost the agent, S3 and Redis. Which groups of
// figures are known is in Metrics, Proc and Redis: an agent given with
// --agent has no process to read, and without --agent-http no metrics.
type Cost struct {
	Metrics bool `json:"metrics"`
	Proc    bool `json:"proc"`
	Redis   bool `json:"redis"`

	// Produce (full and half load), from the agent's metrics.
	Flushes         float64 `json:"flushes"`
	PutsPerGiB      float64 `json:"puts_per_gib"`
	PutsPerAgentSec float64 `json:"puts_per_agent_sec"`
	// Hedges are second PUTs of a straggling upload in every produce
	// phase, HedgesWon those that finished first.
	Hedges    float64 `json:"hedges"`
	HedgesWon float64 `json:"hedges_won"`
	// Consumers at the tail during both produce phases and the idle window.
	TailGetsPerGiB      float64 `json:"tail_gets_per_gib"`
	TailGetsPerAgentSec float64 `json:"tail_gets_per_agent_sec"`
	// Compactions in the full-load, half-load and producers-alone phases
	// (with the catch-up and idle between them) and in replay.
	Compactions [4]float64 `json:"compactions"`
	// Replay through a fresh agent (cold cache) when the bench started it.
	ReplayGetsPerGiB      float64 `json:"replay_gets_per_gib"`
	ReplayGetsPerAgentSec float64 `json:"replay_gets_per_agent_sec"`
	ReplayHeadsPerGiB     float64 `json:"replay_heads_per_gib"`

	// Redis commands from INFO commandstats, including those that Lua
	// scripts run; the Scripts figures count script calls alone, each one
	// round trip. Per flush is measured while producing without consumers
	// (consumers behind the tail read the index in Redis); per tail Fetch
	// while consumers long-poll at the tail with nothing produced. All of
	// them leave out what the agent sends on its own, measured with no
	// client at all (RedisIdlePerSec: the fleet heartbeat).
	RedisIdlePerSec        float64 `json:"redis_commands_per_sec_idle"`
	RedisIdleScriptsPerSec float64 `json:"redis_scripts_per_sec_idle"`
	RedisPerFlush          float64 `json:"redis_commands_per_flush"`
	RedisScriptsPerFlush   float64 `json:"redis_scripts_per_flush"`
	RedisPerTailFetch      float64 `json:"redis_commands_per_tail_fetch"`
	RedisPerReplayFetch    float64 `json:"redis_commands_per_replay_fetch"`
	// Script calls per Fetch.
	RedisScriptsPerTailFetch   float64 `json:"redis_scripts_per_tail_fetch"`
	RedisScriptsPerReplayFetch float64 `json:"redis_scripts_per_replay_fetch"`
	TailFetches                float64 `json:"tail_fetches"`
	ReplayFetches              float64 `json:"replay_fetches"`

	// The agent process, from /proc: CPU per GiB produced by producers
	// alone and per GiB replayed; peak RSS of the agent that took the
	// produce load and of the one that served replay.
	CPUSecPerGiB       float64 `json:"cpu_sec_per_gib_produced"`
	ReplayCPUSecPerGiB float64 `json:"cpu_sec_per_gib_replayed"`
	PeakRSSBytes       int64   `json:"peak_rss_bytes"`
	ReplayPeakRSSBytes int64   `json:"replay_peak_rss_bytes"`

	// FullLoadCores is how many CPUs each process used during full load,
	// by the child's name ("sluice agent", "versitygw", "redis-server")
	// and "bench" for the producer and consumer clients: on a small
	// machine they compete for the same cores.
	FullLoadCores map[string]float64 `json:"full_load_cores,omitempty"`
	// AloneCPUSecPerGiB and ReplayCPUSecPerGiBBy are each process's CPU
	// seconds per GiB produced by producers alone and per GiB replayed,
	// named as in FullLoadCores: what the clients and the S3 server cost
	// bounds what any broker could do on these cores.
	AloneCPUSecPerGiB    map[string]float64 `json:"alone_cpu_sec_per_gib,omitempty"`
	ReplayCPUSecPerGiBBy map[string]float64 `json:"replay_cpu_sec_per_gib_by,omitempty"`
}

// boundMBps is the MB/s that cores could carry if the agent cost nothing
// and every other process cost what bySecPerGiB says; 0 if unknown.
func boundMBps(cores int, bySecPerGiB map[string]float64) float64 {
	var sum float64
	for name, v := range bySecPerGiB {
		if name != agentName {
			sum += v
		}
	}
	if sum <= 0 {
		return 0
	}
	return float64(cores) / sum * gib / 1e6
}

// costOf turns the snapshots of runLoad (indexed by atStart and the other
// marks) into cost figures. produced is the bytes of record values answered
// by each mark, tail what the consumers read from the start to the end of
// the idle window, replayed what replay read.
func costOf(s [numMarks]snapshot, quiet [2]snapshot, produced [numMarks]int64, tail, replayed int64) *Cost {
	c := &Cost{Metrics: s[atStart].metrics && s[afterReplay].metrics, Proc: s[atStart].proc && s[afterReplay].proc,
		Redis: s[atStart].redis != nil && s[afterReplay].redis != nil}
	perGiB := func(n float64, bytes int64) float64 {
		if bytes <= 0 {
			return 0
		}
		return n / (float64(bytes) / gib)
	}
	perSec := func(n float64, a, b snapshot) float64 {
		if d := b.at.Sub(a.at); d > 0 {
			return n / d.Seconds()
		}
		return 0
	}
	per := func(n, d float64) float64 {
		if d <= 0 {
			return 0
		}
		return n / d
	}
	const (
		s0, full, half, idle, prodOnly = atStart, afterFull, afterHalf, afterIdle, afterProduceOnly
		r0, r1                         = beforeReplay, afterReplay
	)
	if d := s[full].at.Sub(s[s0].at); d > 0 && len(s[full].cpuBy) > 0 {
		c.FullLoadCores = map[string]float64{}
		for name, cpu := range s[full].cpuBy {
			c.FullLoadCores[name] = (cpu - s[s0].cpuBy[name]).Seconds() / d.Seconds()
		}
	}
	byProc := func(a, b snapshot, bytes int64) map[string]float64 {
		if bytes <= 0 || len(a.cpuBy) == 0 {
			return nil
		}
		m := map[string]float64{}
		for name, cpu := range b.cpuBy {
			if before, ok := a.cpuBy[name]; ok && cpu >= before {
				m[name] = perGiB((cpu - before).Seconds(), bytes)
			}
		}
		return m
	}
	c.AloneCPUSecPerGiB = byProc(s[idle], s[prodOnly], produced[prodOnly]-produced[idle])
	c.ReplayCPUSecPerGiBBy = byProc(s[r0], s[r1], replayed)
	if c.Metrics {
		c.Flushes = s[half].flushes - s[s0].flushes
		c.Compactions = [4]float64{s[full].compactions - s[s0].compactions, s[half].compactions - s[full].compactions,
			s[prodOnly].compactions - s[half].compactions, s[r1].compactions - s[r0].compactions}
		puts := s[half].puts - s[s0].puts
		c.PutsPerGiB, c.PutsPerAgentSec = perGiB(puts, produced[half]-produced[s0]), perSec(puts, s[s0], s[half])
		c.Hedges, c.HedgesWon = s[prodOnly].hedges-s[s0].hedges, s[prodOnly].hedgeWon-s[s0].hedgeWon
		gets := s[idle].gets - s[s0].gets
		c.TailGetsPerGiB, c.TailGetsPerAgentSec = perGiB(gets, tail), perSec(gets, s[s0], s[idle])
		gets = s[r1].gets - s[r0].gets
		c.ReplayGetsPerGiB, c.ReplayGetsPerAgentSec = perGiB(gets, replayed), perSec(gets, s[r0], s[r1])
		c.ReplayHeadsPerGiB = perGiB(s[r1].heads-s[r0].heads, replayed)
		c.TailFetches, c.ReplayFetches = s[idle].fetches-s[half].fetches, s[r1].fetches-s[r0].fetches
	}
	if c.Redis && c.Metrics {
		if quiet[0].redis != nil && quiet[1].redis != nil {
			all, scripts := redisDelta(quiet[0], quiet[1])
			c.RedisIdlePerSec, c.RedisIdleScriptsPerSec = perSec(float64(all), quiet[0], quiet[1]), perSec(float64(scripts), quiet[0], quiet[1])
		}
		// net is what a and b saw less the agent's own rate over the time.
		net := func(a, b snapshot) (all, scripts float64) {
			n, sc := redisDelta(a, b)
			d := b.at.Sub(a.at).Seconds()
			return max(0, float64(n)-c.RedisIdlePerSec*d), max(0, float64(sc)-c.RedisIdleScriptsPerSec*d)
		}
		all, scripts := net(s[idle], s[prodOnly])
		flushes := s[prodOnly].flushes - s[idle].flushes
		c.RedisPerFlush, c.RedisScriptsPerFlush = per(all, flushes), per(scripts, flushes)
		all, scripts = net(s[half], s[idle])
		c.RedisPerTailFetch, c.RedisScriptsPerTailFetch = per(all, c.TailFetches), per(scripts, c.TailFetches)
		all, scripts = net(s[r0], s[r1])
		c.RedisPerReplayFetch, c.RedisScriptsPerReplayFetch = per(all, c.ReplayFetches), per(scripts, c.ReplayFetches)
	}
	if c.Proc {
		cpu := func(a, b snapshot) float64 { return (b.cpu - a.cpu).Seconds() }
		c.CPUSecPerGiB = perGiB(cpu(s[idle], s[prodOnly]), produced[prodOnly]-produced[idle])
		c.ReplayCPUSecPerGiB = perGiB(cpu(s[r0], s[r1]), replayed)
		c.PeakRSSBytes, c.ReplayPeakRSSBytes = s[prodOnly].hwm, s[r1].hwm
	}
	return c
}
