package redis

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sluicehq/sluice/metadata"
)

var _ metadata.OrphanLog = (*Store)(nil)

// RecordOrphan notes key with the current time; NX keeps the first time.
func (s *Store) RecordOrphan(ctx context.Context, key string) error {
	if err := s.recordOrphans(ctx, []string{key}); err != nil {
		return fmt.Errorf("recording orphan %s: %w", key, err)
	}
	return nil
}

// recordOrphans notes keys with the current time, a thousand to a command.
func (s *Store) recordOrphans(ctx context.Context, keys []string) error {
	now := float64(time.Now().UnixMilli())
	for chunk := range slices.Chunk(keys, 1000) {
		zs := make([]redis.Z, len(chunk))
		for i, k := range chunk {
			zs[i] = redis.Z{Score: now, Member: k}
		}
		if err := s.client.ZAddNX(ctx, orphansKey(), zs...).Err(); err != nil {
			return err
		}
	}
	return nil
}

// Orphans returns the oldest recorded keys first.
func (s *Store) Orphans(ctx context.Context, limit int) ([]string, error) {
	keys, err := s.client.ZRange(ctx, orphansKey(), 0, int64(limit)-1).Result()
	if err != nil {
		return nil, fmt.Errorf("listing orphans: %w", err)
	}
	return keys, nil
}

// ForgetOrphan removes key from the record.
func (s *Store) ForgetOrphan(ctx context.Context, key string) error {
	if err := s.client.ZRem(ctx, orphansKey(), key).Err(); err != nil {
		return fmt.Errorf("forgetting orphan %s: %w", key, err)
	}
	return nil
}
