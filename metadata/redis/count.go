package redis

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/sluicehq/sluice/metadata"
)

var _ metadata.CommitCounter = (*Store)(nil)

// observe raises the highest commit count seen on the shard called name.
func (s *Store) observe(name string, n int64) {
	s.seenMu.Lock()
	defer s.seenMu.Unlock()
	if n > s.seen[name] {
		s.seen[name] = n
	}
}

// seenCount is the highest commit count seen on the shard called name.
func (s *Store) seenCount(name string) int64 {
	s.seenMu.Lock()
	defer s.seenMu.Unlock()
	return s.seen[name]
}

// CommitCounts returns how many commits each shard has counted, and
// remembers them as seen so later commits refuse to run should a count go
// back. A single Redis has one count, named ""; a cluster one per shard,
// named after its anchor slot, in one round trip.
func (s *Store) CommitCounts(ctx context.Context) (map[string]int64, error) {
	shards := []shard{single}
	if s.cluster != nil {
		t, err := s.topology(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading the commit counts: %w", err)
		}
		shards = t.shards
	}
	cmds := make([]*redis.StringCmd, len(shards))
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, sh := range shards {
			cmds[i] = p.Get(ctx, sh.countKey)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("reading the commit counts: %w", err)
	}
	counts := make(map[string]int64, len(shards))
	for i, sh := range shards {
		n, err := cmds[i].Int64()
		if errors.Is(err, redis.Nil) {
			n, err = 0, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading the commit count of shard %q: %w", sh.name, err)
		}
		s.observe(sh.name, n)
		counts[sh.name] = n
	}
	return counts, nil
}
