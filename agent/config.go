package agent

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/sluicehq/sluice/agent/produce"
)

// Config configures an agent.
type Config struct {
	Listen            string `yaml:"listen"`
	Advertise         string `yaml:"advertise"`
	MaxRequestBytes   int64  `yaml:"max_request_bytes"`
	AutoCreateTopics  bool   `yaml:"auto_create_topics"`
	DefaultPartitions int    `yaml:"default_partitions"`
	MaxPartitions     int    `yaml:"max_partitions"`
	FetchCacheBytes   int64  `yaml:"fetch_cache_bytes"`
	// CacheFlushed keeps each object this agent flushes in the fetch cache.
	CacheFlushed     bool          `yaml:"cache_flushed"`
	MetadataCacheTTL time.Duration `yaml:"metadata_cache_ttl"`
	DrainTimeout     time.Duration `yaml:"drain_timeout"`
	// CommitCountInterval is how often the store's commit count is copied
	// to the bucket, for the rollback check at start.
	CommitCountInterval time.Duration `yaml:"commit_count_interval"`
	// Zone is the agent's availability zone: clients that name a zone in
	// their client id are told only of the agents in it.
	Zone string `yaml:"zone"`
	// HeartbeatInterval is how often the agent renews its registration in
	// the fleet and rereads the live agents; HeartbeatTTL is how long a
	// registration lasts without renewal.
	HeartbeatInterval time.Duration `yaml:"heartbeat_interval"`
	HeartbeatTTL      time.Duration `yaml:"heartbeat_ttl"`

	Produce     produce.Config    `yaml:"produce"`
	Maintenance MaintenanceConfig `yaml:"maintenance"`
	Groups      GroupConfig       `yaml:"groups"`
}

// RegisterFlags registers the agent's flags with their defaults.
func (c *Config) RegisterFlags(prefix string, f *flag.FlagSet) {
	f.StringVar(&c.Listen, prefix+"listen", ":9092", "Address to accept Kafka clients on.")
	f.StringVar(&c.Advertise, prefix+"advertise", "", "host:port clients dial to reach this agent (default: the listen address).")
	f.Int64Var(&c.MaxRequestBytes, prefix+"max-request-bytes", 100<<20, "Largest request accepted; a larger size prefix closes the connection (Kafka's socket.request.max.bytes).")
	f.BoolVar(&c.AutoCreateTopics, prefix+"auto-create-topics", true, "Create a topic when a client asks for one that does not exist.")
	f.IntVar(&c.DefaultPartitions, prefix+"default-partitions", 1, "Partitions of an auto-created topic.")
	f.IntVar(&c.MaxPartitions, prefix+"max-partitions", 10000, "Most partitions one topic may have; bounds what one request can make agents allocate.")
	f.Int64Var(&c.FetchCacheBytes, prefix+"fetch-cache-bytes", 64<<20, "Bytes of object ranges cached for fetches.")
	f.BoolVar(&c.CacheFlushed, prefix+"cache-flushed", true, "Keep each object this agent flushes in the fetch cache, so consumers at the tail read it without a GET; off saves the cache for agents that take only produce traffic.")
	f.DurationVar(&c.MetadataCacheTTL, prefix+"metadata-cache-ttl", 2*time.Second, "How long topic metadata is cached before it is read again.")
	f.DurationVar(&c.DrainTimeout, prefix+"drain-timeout", 30*time.Second, "How long SIGTERM waits for buffered produces to be flushed and answered.")
	f.DurationVar(&c.CommitCountInterval, prefix+"commit-count-interval", 10*time.Second, "How often the metadata commit count is recorded in the bucket, so a restarted agent can tell that Redis lost writes.")
	f.StringVar(&c.Zone, prefix+"zone", "", "Availability zone of this agent; clients with sluice_az=ZONE (or ws_az=, warpstream_az=, diskless_az=, automq_az=) in their client.id are told only of agents in their zone.")
	f.DurationVar(&c.HeartbeatInterval, prefix+"heartbeat-interval", time.Second, "How often the agent renews its fleet registration and rereads the live agents.")
	f.DurationVar(&c.HeartbeatTTL, prefix+"heartbeat-ttl", 5*time.Second, "How long a registration lasts without a heartbeat: a crashed agent is listed this long at most.")
	c.Produce.RegisterFlags(prefix, f)
	c.Maintenance.RegisterFlags(prefix, f)
	c.Groups.RegisterFlags(prefix, f)
}

// Validate says what is wrong with the configuration.
func (c *Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("--listen %q: want host:port: %w", c.Listen, err)
	}
	if c.Advertise != "" {
		if _, _, err := net.SplitHostPort(c.Advertise); err != nil {
			return fmt.Errorf("--advertise %q: want host:port: %w", c.Advertise, err)
		}
	}
	if c.MaxRequestBytes < 1<<10 || c.MaxRequestBytes > 1<<30 {
		return errors.New("--max-request-bytes must be between 1KiB and 1GiB")
	}
	if c.DefaultPartitions < 1 || c.DefaultPartitions > c.MaxPartitions {
		return errors.New("--default-partitions must be between 1 and --max-partitions")
	}
	if c.CommitCountInterval <= 0 {
		return errors.New("--commit-count-interval must be positive")
	}
	if err := validZone(c.Zone); err != nil {
		return err
	}
	if c.HeartbeatInterval <= 0 || c.HeartbeatTTL < 2*c.HeartbeatInterval {
		return errors.New("--heartbeat-interval must be positive and --heartbeat-ttl at least twice as long")
	}
	if c.FetchCacheBytes < 0 {
		return errors.New("--fetch-cache-bytes must not be negative")
	}
	if err := c.Groups.Validate(); err != nil {
		return err
	}
	if err := c.Maintenance.Validate(); err != nil {
		return err
	}
	return c.Produce.Validate()
}

// validZone refuses zones a client id could not name: a hint is one
// key=value item of the id, so the zone holds no separator.
func validZone(z string) error {
	if len(z) > 128 {
		return errors.New("--zone must be at most 128 characters")
	}
	for _, r := range z {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:/", r)) {
			return fmt.Errorf("--zone %q: only letters, digits and - _ . : / are allowed", z)
		}
	}
	return nil
}
