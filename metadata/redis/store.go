package redis

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/sluicehq/sluice/metadata"
)

var (
	_ metadata.TopicRegistry = (*Store)(nil)
	_ metadata.Log           = (*Store)(nil)
	_ metadata.Watcher       = (*Store)(nil)
)

// openTimeout bounds the checks Open makes, so that a wrong address fails
// fast rather than after the caller's whole deadline.
const openTimeout = 5 * time.Second

// Store is the metadata store on Redis. It is safe for concurrent use; any
// number of Stores, in any number of agents, may share one Redis.
type Store struct {
	client redis.UniversalClient
	// cluster is set on a Redis Cluster; nil on a single Redis.
	cluster *clusterState
	// epoch is the store epoch read at Open; Commit refuses to write once
	// Redis holds another (see commitScript).
	epoch string
	// seen holds, per shard name, the highest commit count this store has
	// seen, from its own commits and from other agents' notifications.
	// Commits refuse to run on a shard whose count is lower (see
	// commitScript).
	seenMu sync.Mutex
	seen   map[string]int64
	// replicated names the shards whose durability rests on a replica
	// (CheckDurability found no fsync-always append-only file but a
	// replica that confirms): their commits WAIT for one. Under seenMu.
	replicated map[string]bool
	// pingEvery is how long Watch waits for a message before it checks the
	// subscription with a PING.
	pingEvery time.Duration
}

// Open connects to the Redis at rawURL, checks that it answers, and reads
// the store epoch, setting it if this is the first Open on the data set.
// rawURL is redis://[[user]:password@]host:port[/db] (rediss:// for TLS)
// for a single Redis, or redis+cluster://[[user]:password@]host:port[,host:port...]
// (rediss+cluster:// for TLS) for a Redis Cluster, naming any of its nodes.
func Open(ctx context.Context, rawURL string) (*Store, error) {
	client, addr, err := newClient(rawURL)
	if err != nil {
		return nil, err
	}
	s := &Store{client: client, seen: map[string]int64{}, replicated: map[string]bool{}, pingEvery: 15 * time.Second}
	if c, ok := client.(*redis.ClusterClient); ok {
		s.cluster = &clusterState{c: c}
	}
	if err := s.start(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("opening Redis at %s: %w", addr, err), s.client.Close())
	}
	return s, nil
}

// urlForms is what Open accepts, for error messages.
const urlForms = "want redis://[[user]:password@]host:port[/db], rediss:// for TLS, " +
	"or redis+cluster://[[user]:password@]host:port[,host:port...] (rediss+cluster:// for TLS) for a Redis Cluster"

// newClient makes the client for rawURL, and says where it connects.
func newClient(rawURL string) (redis.UniversalClient, string, error) {
	fail := func(err error) (redis.UniversalClient, string, error) {
		return nil, "", fmt.Errorf("parsing Redis URL %s: %w; %s", redact(rawURL), err, urlForms)
	}
	scheme, rest, _ := strings.Cut(rawURL, "://")
	if base, ok := strings.CutSuffix(scheme, "+cluster"); ok {
		opt, err := parseClusterURL(base + "://" + rest)
		if err != nil {
			return fail(err)
		}
		return redis.NewClusterClient(opt), strings.Join(opt.Addrs, ","), nil
	}
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		return fail(err)
	}
	opt.ContextTimeoutEnabled = true
	// go-redis retries a command whose connection broke after it was sent.
	// For a commit that would run the script twice when the first run's
	// reply was lost, indexing non-idempotent batches twice: callers retry
	// instead, knowing that a failed commit may have happened.
	opt.MaxRetries = -1
	opt.DisableIdentity = true // CLIENT SETINFO is unknown before Redis 7.2
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	return redis.NewClient(opt), opt.Addr, nil
}

// parseClusterURL reads redis://[[user]:password@]host:port[,host:port...][/]
// (or rediss://) into cluster options. A cluster has only database 0, and
// the URL takes no options.
func parseClusterURL(rawURL string) (*redis.ClusterOptions, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.New("not a URL") // url's error would show the password
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return nil, fmt.Errorf("scheme %s+cluster is not redis+cluster or rediss+cluster", u.Scheme)
	}
	if (u.Path != "" && u.Path != "/" && u.Path != "/0") || u.RawQuery != "" {
		return nil, errors.New("a cluster URL takes no database and no options")
	}
	opt := &redis.ClusterOptions{
		ContextTimeoutEnabled: true,
		// As for a single Redis: no retry of a command that may have run.
		// Commits go to one primary's client directly, so the cluster
		// client's own retries of broken connections never replay them.
		MaxRetries:               -1,
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	}
	for a := range strings.SplitSeq(u.Host, ",") {
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
			return nil, fmt.Errorf("cluster node %q is not host:port", a)
		}
		opt.Addrs = append(opt.Addrs, a)
	}
	if u.User != nil {
		opt.Username = u.User.Username()
		opt.Password, _ = u.User.Password()
	}
	if u.Scheme == "rediss" {
		host, _, _ := net.SplitHostPort(opt.Addrs[0])
		opt.TLSConfig = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	return opt, nil
}

// start pings, loads the scripts and reads the epoch.
func (s *Store) start(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, openTimeout)
	defer cancel()
	if err := s.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("pinging: %w; check that Redis runs there and that the password and TLS (rediss://) are right", err)
	}
	if err := loadScripts(ctx, s.client, s.cluster != nil); err != nil {
		return err
	}
	if err := s.checkFormat(ctx); err != nil {
		return err
	}
	if err := s.readEpoch(ctx); err != nil {
		return err
	}
	if s.cluster != nil {
		if _, err := s.topology(ctx); err != nil {
			return err
		}
	}
	return nil
}

// loadScripts puts every script in the server's cache, so that EVALSHA
// finds them. Not in a pipeline: go-redis's Script.Load then records the
// queued command's empty reply as the script's hash, and every EVALSHA
// after it misses.
// On a cluster every primary gets them, and the cluster commit script
// replaces the single one, which needs no Redis 7 script flags.
func loadScripts(ctx context.Context, c redis.Scripter, cluster bool) error {
	commit := commitScript
	if cluster {
		commit = clusterCommitScript
	}
	for _, sc := range append([]*redis.Script{commit}, scripts...) {
		if err := sc.Load(ctx, c).Err(); err != nil {
			return fmt.Errorf("loading scripts: %w", err)
		}
	}
	return nil
}

// formatVersion is the layout of the keys and values this build reads and
// writes in Redis. A change to any of them is a new version, shipped as
// segment formats are (tiering/segment): first a release that reads both
// and writes the old, then one that writes the new and raises the stored
// version, so that no agent ever runs against data it would misread,
// rolled back ones included.
const formatVersion = 1

// checkFormat records formatVersion in a Redis that has none, and refuses
// one whose data is in another format.
func (s *Store) checkFormat(ctx context.Context) error {
	var get *redis.StringCmd
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.SetNX(ctx, formatKey(), formatVersion, 0)
		get = p.Get(ctx, formatKey())
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading the metadata format: %w", err)
	}
	v, err := strconv.Atoi(get.Val())
	switch {
	case err != nil:
		return fmt.Errorf("reading the metadata format: %s holds %q, not a version: %w", formatKey(), get.Val(), ErrFormat)
	case v > formatVersion:
		return fmt.Errorf("Redis holds metadata in format %d, which a newer Sluice wrote and this one (format %d) would misread: run that newer version: %w", v, formatVersion, ErrFormat)
	case v < formatVersion:
		return fmt.Errorf("Redis holds metadata in format %d, older than any this Sluice (format %d) reads: %w", v, formatVersion, ErrFormat)
	}
	return nil
}

// readEpoch sets the epoch if none is set, and reads it. A Redis that comes
// back without its data loses the epoch with it, and the next Open sets a
// new one: every Store opened before is then fenced.
func (s *Store) readEpoch(ctx context.Context) error {
	var get *redis.StringCmd
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.SetNX(ctx, epochKey(), uuid.NewString(), 0)
		get = p.Get(ctx, epochKey())
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading store epoch: %w", err)
	}
	s.epoch = get.Val()
	return nil
}

// Close closes the connections.
func (s *Store) Close() error { return s.client.Close() }

// redact hides the password of a URL that is to be shown, and the whole
// URL when it does not parse, since the password could be anywhere in it.
func redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
