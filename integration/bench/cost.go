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
	// Consumers at the tail during both produce phases and the idle window.
	TailGetsPerGiB      float64 `json:"tail_gets_per_gib"`
	TailGetsPerAgentSec float64 `json:"tail_gets_per_agent_sec"`
	// Replay through a fresh agent (cold cache) when the bench started it.
	ReplayGetsPerGiB      float64 `json:"replay_gets_per_gib"`
	ReplayGetsPerAgentSec float64 `json:"replay_gets_per_agent_sec"`
	ReplayHeadsPerGiB     float64 `json:"replay_heads_per_gib"`

	// Redis commands from INFO commandstats, including those that Lua
	// scripts run; ScriptsPerFlush counts the script calls alone, each one
	// round trip.
	RedisPerFlush        float64 `json:"redis_commands_per_flush"`
	RedisScriptsPerFlush float64 `json:"redis_scripts_per_flush"`
	RedisPerTailFetch    float64 `json:"redis_commands_per_tail_fetch"`
	RedisPerReplayFetch  float64 `json:"redis_commands_per_replay_fetch"`
	// Script calls per Fetch.
	RedisScriptsPerTailFetch   float64 `json:"redis_scripts_per_tail_fetch"`
	RedisScriptsPerReplayFetch float64 `json:"redis_scripts_per_replay_fetch"`
	TailFetches                float64 `json:"tail_fetches"`
	ReplayFetches              float64 `json:"replay_fetches"`

	// The agent process, from /proc: CPU per GiB produced (with the tail
	// consumers it served meanwhile) and per GiB replayed; peak RSS of the
	// agent that took the produce load and of the one that served replay.
	CPUSecPerGiB       float64 `json:"cpu_sec_per_gib_produced"`
	ReplayCPUSecPerGiB float64 `json:"cpu_sec_per_gib_replayed"`
	PeakRSSBytes       int64   `json:"peak_rss_bytes"`
	ReplayPeakRSSBytes int64   `json:"replay_peak_rss_bytes"`
}

// costOf turns the snapshots of runLoad into cost figures: s[0] before the
// load, s[1] after full load, s[2] after half load, s[3] after the idle
// window, s[4] and s[5] around replay. produced, tail and replayed are the
// bytes of record values in each stretch.
func costOf(s [6]snapshot, produced, tail, replayed int64) *Cost {
	c := &Cost{Metrics: s[0].metrics && s[5].metrics, Proc: s[0].proc && s[5].proc,
		Redis: s[0].redis != nil && s[5].redis != nil}
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
	if c.Metrics {
		c.Flushes = s[2].flushes - s[0].flushes
		puts := s[2].puts - s[0].puts
		c.PutsPerGiB, c.PutsPerAgentSec = perGiB(puts, produced), perSec(puts, s[0], s[2])
		gets := s[3].gets - s[0].gets
		c.TailGetsPerGiB, c.TailGetsPerAgentSec = perGiB(gets, tail), perSec(gets, s[0], s[3])
		gets = s[5].gets - s[4].gets
		c.ReplayGetsPerGiB, c.ReplayGetsPerAgentSec = perGiB(gets, replayed), perSec(gets, s[4], s[5])
		c.ReplayHeadsPerGiB = perGiB(s[5].heads-s[4].heads, replayed)
		c.TailFetches, c.ReplayFetches = s[3].fetches-s[2].fetches, s[5].fetches-s[4].fetches
	}
	if c.Redis && c.Metrics {
		all, scripts := redisDelta(s[0], s[2])
		c.RedisPerFlush, c.RedisScriptsPerFlush = per(float64(all), c.Flushes), per(float64(scripts), c.Flushes)
		all, scripts = redisDelta(s[2], s[3])
		c.RedisPerTailFetch, c.RedisScriptsPerTailFetch = per(float64(all), c.TailFetches), per(float64(scripts), c.TailFetches)
		all, scripts = redisDelta(s[4], s[5])
		c.RedisPerReplayFetch, c.RedisScriptsPerReplayFetch = per(float64(all), c.ReplayFetches), per(float64(scripts), c.ReplayFetches)
	}
	if c.Proc {
		cpu := func(a, b snapshot) float64 { return (b.cpu - a.cpu).Seconds() }
		c.CPUSecPerGiB = perGiB(cpu(s[0], s[2]), produced)
		c.ReplayCPUSecPerGiB = perGiB(cpu(s[4], s[5]), replayed)
		c.PeakRSSBytes, c.ReplayPeakRSSBytes = s[3].hwm, s[5].hwm
	}
	return c
}
