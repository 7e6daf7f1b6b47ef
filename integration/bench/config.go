package bench

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/sluicehq/sluice/agent/produce"
)

// Config says what load to run and against which servers.
type Config struct {
	RecordSize int           `yaml:"record_size" json:"record_size"`
	Partitions int           `yaml:"partitions" json:"partitions"`
	Producers  int           `yaml:"producers" json:"producers"`
	Consumers  int           `yaml:"consumers" json:"consumers"`
	Acks       string        `yaml:"acks" json:"acks"`
	Duration   time.Duration `yaml:"duration" json:"duration"`
	// Rate is the records per second all producers aim at together in the
	// full-load phase; 0 produces as fast as the broker takes them.
	Rate int `yaml:"rate" json:"rate"`
	// JSON is where the report is written; empty writes none.
	JSON string `yaml:"json" json:"json"`

	// Redis, Bucket and Agent point at running servers; each one left
	// empty is started by the bench as a child process.
	Redis  string `yaml:"redis" json:"redis"`
	Bucket string `yaml:"bucket" json:"bucket"`
	Agent  string `yaml:"agent" json:"agent"`
	// AgentHTTP is the /metrics address of the agent given by Agent.
	AgentHTTP string `yaml:"agent_http" json:"agent_http"`

	// AgentArgs are more flags for the agent the bench starts, split on
	// spaces; TopicConfigs are configs (key=value, comma-separated) of the
	// bench's topics. A long run uses them to keep the data on disk in
	// bounds: a short retention.ms and --object-grace.
	AgentArgs    string `yaml:"agent_args" json:"agent_args,omitempty"`
	TopicConfigs string `yaml:"topic_configs" json:"topic_configs,omitempty"`

	// S3Speed below 1 puts the agent's S3 traffic through a proxy that
	// passes this share of the raw PUT throughput the ceiling measured,
	// each way: an S3 that cannot absorb the load.
	S3Speed float64 `yaml:"s3_speed" json:"s3_speed"`
	// S3Stragglers, above 0, stalls that share of the agent's flush-sized
	// PUTs for S3Stall, through the same proxy: the rare slow request
	// every object store has.
	S3Stragglers float64       `yaml:"s3_stragglers" json:"s3_stragglers,omitempty"`
	S3Stall      time.Duration `yaml:"s3_stall" json:"s3_stall,omitempty"`

	SkipKfake   bool `yaml:"skip_kfake" json:"skip_kfake"`
	SkipCeiling bool `yaml:"skip_ceiling" json:"skip_ceiling"`
	// AgentProfile, when set, is where a CPU profile of the agent taken
	// during the full-load phase is written.
	AgentProfile string `yaml:"agent_profile" json:"agent_profile"`

	// Produce is the agent's buffer configuration: the bench starts its
	// agent with it, sizes the ceiling's objects and concurrency from it,
	// and checks the targets against it.
	Produce produce.Config `yaml:"produce" json:"produce"`
}

// RegisterFlags registers the bench's flags with their defaults, and the
// agent's produce-buffer flags with the agent's defaults.
func (c *Config) RegisterFlags(prefix string, f *flag.FlagSet) {
	f.IntVar(&c.RecordSize, prefix+"records-size", 1024, "Bytes of each record's value (at least 8: it starts with the produce time).")
	f.IntVar(&c.Partitions, prefix+"partitions", 24, "Partitions of the topic.")
	f.IntVar(&c.Producers, prefix+"producers", 4, "Producer clients.")
	f.IntVar(&c.Consumers, prefix+"consumers", 2, "Consumer clients; the partitions are split between them.")
	f.StringVar(&c.Acks, prefix+"acks", "all", "Producer acks: all (idempotent), 1 or 0.")
	f.DurationVar(&c.Duration, prefix+"duration", 20*time.Second, "Length of the full-load phase; the half-load phase and the ceiling take half as long each, replay at most as long.")
	f.IntVar(&c.Rate, prefix+"rate", 0, "Records per second of all producers together at full load; 0 is as fast as the broker takes them.")
	f.StringVar(&c.JSON, prefix+"json", "", "Write the report as JSON to this path.")
	f.StringVar(&c.Redis, prefix+"redis", "", "Use this Redis (redis://host:port/db) instead of starting redis-server.")
	f.StringVar(&c.Bucket, prefix+"bucket", "", "Use this bucket (s3://BUCKET?region=R&endpoint=URL&path_style=true) instead of starting versitygw.")
	f.StringVar(&c.Agent, prefix+"agent", "", "Load this running agent (host:port) instead of starting one.")
	f.StringVar(&c.AgentHTTP, prefix+"agent-http", "", "Metrics address (host:port) of the agent given by --agent, for the cost figures.")
	f.StringVar(&c.AgentArgs, prefix+"agent-args", "", "More flags for the agent the bench starts, space-separated (e.g. \"--object-grace=1m --maintenance-interval=10s\").")
	f.StringVar(&c.TopicConfigs, prefix+"topic-configs", "", "Configs of the bench's topics, as key=value pairs separated by commas (e.g. retention.ms=120000).")
	f.Float64Var(&c.S3Speed, prefix+"s3-speed", 1, "Slow the agent's S3 down to this share of the raw PUT throughput the ceiling measures (0.1: a tenth), through a throttling proxy; 1 is full speed.")
	f.Float64Var(&c.S3Stragglers, prefix+"s3-stragglers", 0, "Stall this share of the agent's flush-sized PUTs (0.02: one in fifty) for --s3-stall, through the same proxy as --s3-speed; 0 stalls none.")
	f.DurationVar(&c.S3Stall, prefix+"s3-stall", 2*time.Second, "How long each straggling PUT of --s3-stragglers is held up.")
	f.BoolVar(&c.SkipKfake, prefix+"skip-kfake", false, "Do not run the load against franz-go's in-memory kfake broker.")
	f.BoolVar(&c.SkipCeiling, prefix+"skip-ceiling", false, "Do not measure raw S3 PUT and GET throughput.")
	f.StringVar(&c.AgentProfile, prefix+"agent-profile", "", "Write a CPU profile of the agent, taken during the full-load phase, to this path, one of producers alone to this path with .alone added, and one of the start of replay with .replay added.")
	c.Produce.RegisterFlags(prefix, f)
}

// Validate says what is wrong with the configuration.
func (c *Config) Validate() error {
	var errs []error
	if c.RecordSize < valueHeader || c.RecordSize > 1<<20 {
		errs = append(errs, fmt.Errorf("--records-size must be between %d and 1MiB", valueHeader))
	}
	if c.Partitions < 1 || c.Producers < 1 || c.Consumers < 1 {
		errs = append(errs, errors.New("--partitions, --producers and --consumers must be at least 1"))
	}
	if c.Consumers > c.Partitions {
		errs = append(errs, errors.New("--consumers must not exceed --partitions: each consumer reads its own partitions"))
	}
	if _, err := acksOpts(c.Acks); err != nil {
		errs = append(errs, err)
	}
	if c.Duration < 2*time.Second {
		errs = append(errs, errors.New("--duration must be at least 2s"))
	}
	if c.Rate < 0 {
		errs = append(errs, errors.New("--rate must not be negative"))
	}
	for name, addr := range map[string]string{"--agent": c.Agent, "--agent-http": c.AgentHTTP} {
		if _, _, err := net.SplitHostPort(addr); addr != "" && err != nil {
			errs = append(errs, fmt.Errorf("%s %q: want host:port", name, addr))
		}
	}
	if c.Agent == "" && c.AgentHTTP != "" {
		errs = append(errs, errors.New("--agent-http needs --agent: a started agent's metrics address is known"))
	}
	if c.Agent != "" && c.AgentProfile != "" && c.AgentHTTP == "" {
		errs = append(errs, errors.New("--agent-profile with --agent needs --agent-http"))
	}
	if _, err := c.topicConfigs(); err != nil {
		errs = append(errs, err)
	}
	if c.AgentArgs != "" && c.Agent != "" {
		errs = append(errs, errors.New("--agent-args is for an agent the bench starts, not one given with --agent"))
	}
	if c.S3Speed <= 0 || c.S3Speed > 1 {
		errs = append(errs, errors.New("--s3-speed must be in (0, 1]"))
	}
	if c.S3Stragglers < 0 || c.S3Stragglers > 1 || c.S3Stall <= 0 {
		errs = append(errs, errors.New("--s3-stragglers must be in [0, 1] and --s3-stall positive"))
	}
	if c.S3Stragglers > 0 && (c.Bucket != "" || c.Agent != "") {
		errs = append(errs, errors.New("--s3-stragglers needs the bench's own S3 server and agent"))
	}
	if c.S3Speed < 1 && (c.Bucket != "" || c.Agent != "" || c.SkipCeiling) {
		errs = append(errs, errors.New("--s3-speed below 1 needs the bench's own S3 server and agent, and the ceiling it is a share of"))
	}
	if err := c.Produce.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// topicConfigs parses TopicConfigs.
func (c *Config) topicConfigs() (map[string]*string, error) {
	if c.TopicConfigs == "" {
		return nil, nil
	}
	m := map[string]*string{}
	for _, kv := range strings.Split(c.TopicConfigs, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--topic-configs: %q is not key=value", kv)
		}
		m[k] = &v
	}
	return m, nil
}
