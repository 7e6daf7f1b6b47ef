package redis

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sluicehq/sluice/metadata"
)

var _ metadata.Lifecycle = (*Store)(nil)

// ReplaceEntries swaps old for replacement in one script, if old is still
// there; see replaceEntriesScript.
func (s *Store) ReplaceEntries(ctx context.Context, p metadata.Partition, old, replacement []metadata.IndexEntry) error {
	if err := metadata.CheckReplacement(old, replacement); err != nil {
		return err
	}
	args := make([]any, 0, 1+3*len(replacement)+len(old))
	args = append(args, len(replacement))
	for _, r := range replacement {
		args = append(args, encodeEntry(r), r.BaseOffset, strconv.FormatInt(r.MaxTimestamp, 10))
	}
	for _, e := range old {
		args = append(args, encodeEntry(e))
	}
	keys := []string{stateKey(p), indexKey(p), timesKey(p), refsKey(p)}
	n, err := replaceEntriesScript.Run(ctx, s.client, keys, args...).Int()
	if err != nil {
		return fmt.Errorf("replacing %d index entries of %s: %w", len(old), partitionName(p), err)
	}
	return scriptOutcome(n, p)
}

// Trim raises the log start and drops the entries below it in one script;
// see trimScript.
func (s *Store) Trim(ctx context.Context, p metadata.Partition, logStart int64) error {
	if logStart < 0 || logStart >= maxOffset {
		return fmt.Errorf("%w: log start %d", metadata.ErrConflict, logStart)
	}
	keys := []string{stateKey(p), indexKey(p), timesKey(p), refsKey(p)}
	n, err := trimScript.Run(ctx, s.client, keys, logStart).Int()
	if err != nil {
		return fmt.Errorf("trimming %s to %d: %w", partitionName(p), logStart, err)
	}
	return scriptOutcome(n, p)
}

// scriptOutcome maps the replace and trim scripts' return codes.
func scriptOutcome(n int, p metadata.Partition) error {
	switch n {
	case 1:
		return nil
	case 0:
		return fmt.Errorf("%w: %s", metadata.ErrConflict, partitionName(p))
	case -1:
		return fmt.Errorf("%w: partition %s", metadata.ErrUnknownTopic, partitionName(p))
	}
	return fmt.Errorf("%w: script returned %d", errBadReply, n)
}

// Referenced looks object up in p's refs hash; see referencedScript.
func (s *Store) Referenced(ctx context.Context, p metadata.Partition, object string) (bool, error) {
	n, err := referencedScript.Run(ctx, s.client, []string{stateKey(p), indexKey(p), refsKey(p)}, object).Int()
	if err != nil {
		return false, fmt.Errorf("looking for %s in the index of %s: %w", object, partitionName(p), err)
	}
	return n == 1, nil
}

// OrphansBefore returns the oldest orphans recorded before t.
func (s *Store) OrphansBefore(ctx context.Context, t time.Time, limit int) ([]string, error) {
	if limit <= 0 {
		return []string{}, nil
	}
	keys, err := s.client.ZRangeByScore(ctx, orphansKey(), &redis.ZRangeBy{
		Min: "-inf", Max: "(" + strconv.FormatInt(t.UnixMilli(), 10), Count: int64(limit),
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("listing orphans: %w", err)
	}
	return keys, nil
}

// Lease takes or renews the lease; see leaseScript.
func (s *Store) Lease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	n, err := leaseScript.Run(ctx, s.client, []string{leaseKey(name)}, holder, max(ttl.Milliseconds(), 1)).Int()
	if err != nil {
		return false, fmt.Errorf("taking lease %s: %w", name, err)
	}
	return n == 1, nil
}

// encodeEntry is the index member of e, as commitScript writes it.
func encodeEntry(e metadata.IndexEntry) string {
	return fmt.Sprintf("%d,%d,%d,%d,%d,%s", e.BaseOffset, e.LastOffset, e.MaxTimestamp, e.Pos, e.Len, e.Object)
}
