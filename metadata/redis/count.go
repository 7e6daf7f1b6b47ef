package redis

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/sluicehq/sluice/metadata"
)

var _ metadata.CommitCounter = (*Store)(nil)

// observe raises the highest commit count seen.
func (s *Store) observe(n int64) {
	for {
		cur := s.seen.Load()
		if n <= cur || s.seen.CompareAndSwap(cur, n) {
			return
		}
	}
}

// CommitCount returns how many commits Redis has counted, and remembers it
// as seen so later commits refuse to run should the count go back.
func (s *Store) CommitCount(ctx context.Context) (int64, error) {
	n, err := s.client.Get(ctx, commitCountKey()).Int64()
	if errors.Is(err, redis.Nil) {
		n, err = 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading the commit count: %w", err)
	}
	s.observe(n)
	return n, nil
}
