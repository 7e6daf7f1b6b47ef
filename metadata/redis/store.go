package redis

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync/atomic"
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
	client *redis.Client
	// epoch is the store epoch read at Open; Commit refuses to write once
	// Redis holds another (see commitScript).
	epoch string
	// seen is the highest commit count this store has seen, from its own
	// commits and from other agents' notifications. Commits refuse to run
	// on a Redis whose count is lower (see commitScript).
	seen atomic.Int64
	// pingEvery is how long Watch waits for a message before it checks the
	// subscription with a PING.
	pingEvery time.Duration
}

// Open connects to the Redis at rawURL, redis://[[user]:password@]host:port[/db]
// or rediss:// for TLS, checks that it answers, and reads the store epoch,
// setting it if this is the first Open on the data set.
func Open(ctx context.Context, rawURL string) (*Store, error) {
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("parsing Redis URL %s: %w; want redis://[[user]:password@]host:port[/db], or rediss:// for TLS",
			redact(rawURL), err)
	}
	opt.ContextTimeoutEnabled = true
	// go-redis retries a command whose connection broke after it was sent.
	// For a commit that would run the script twice when the first run's
	// reply was lost, indexing non-idempotent batches twice: callers retry
	// instead, knowing that a failed commit may have happened.
	opt.MaxRetries = -1
	opt.DisableIdentity = true // CLIENT SETINFO is unknown before Redis 7.2
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	s := &Store{client: redis.NewClient(opt), pingEvery: 15 * time.Second}
	if err := s.start(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("opening Redis at %s: %w", opt.Addr, err), s.client.Close())
	}
	return s, nil
}

// start pings, loads the scripts and reads the epoch.
func (s *Store) start(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, openTimeout)
	defer cancel()
	if err := s.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("pinging: %w; check that Redis runs there and that the password and TLS (rediss://) are right", err)
	}
	if err := loadScripts(ctx, s.client); err != nil {
		return err
	}
	return s.readEpoch(ctx)
}

// loadScripts puts every script in the server's cache, so that EVALSHA
// finds them. Not in a pipeline: go-redis's Script.Load then records the
// queued command's empty reply as the script's hash, and every EVALSHA
// after it misses.
func loadScripts(ctx context.Context, c *redis.Client) error {
	for _, sc := range scripts {
		if err := sc.Load(ctx, c).Err(); err != nil {
			return fmt.Errorf("loading scripts: %w", err)
		}
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
