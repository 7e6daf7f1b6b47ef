package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/sluicehq/sluice/metadata"
)

// maxOffset is the largest offset the scripts handle exactly: Lua numbers
// are doubles.
const maxOffset = 1 << 53

// Index returns up to limit entries of p whose LastOffset is >= from.
func (s *Store) Index(ctx context.Context, p metadata.Partition, from int64, limit int) ([]metadata.IndexEntry, error) {
	if limit <= 0 || from >= maxOffset {
		return []metadata.IndexEntry{}, nil
	}
	ms, err := indexScript.Run(ctx, s.client, []string{indexKey(p), stateKey(p)}, max(from, 0), limit).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("reading index of %s: %w", partitionName(p), err)
	}
	es, err := decodeEntries(ms)
	if err != nil {
		return nil, fmt.Errorf("reading index of %s: %w", partitionName(p), err)
	}
	return es, nil
}

// Offsets returns the bounds of each partition, in one round trip.
func (s *Store) Offsets(ctx context.Context, ps []metadata.Partition) ([]metadata.Offsets, error) {
	cmds := make([]*redis.SliceCmd, len(ps))
	if len(ps) > 0 {
		_, err := s.client.Pipelined(ctx, func(pl redis.Pipeliner) error {
			for i, p := range ps {
				cmds[i] = pl.HMGet(ctx, stateKey(p), "start", "hw")
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("reading offsets: %w", err)
		}
	}
	os := make([]metadata.Offsets, len(ps))
	for i, cmd := range cmds {
		v := cmd.Val()
		start, err1 := parseOptInt(v[0])
		hw, err2 := parseOptInt(v[1])
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("reading offsets of %s: %w", partitionName(ps[i]), err)
		}
		os[i] = metadata.Offsets{LogStart: start, HighWatermark: hw}
	}
	return os, nil
}

// parseOptInt parses an HMGET value; a missing field is 0.
func parseOptInt(v any) (int64, error) {
	if v == nil {
		return 0, nil
	}
	str, _ := v.(string)
	n, err := strconv.ParseInt(str, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: offset %v", errBadReply, v)
	}
	return n, nil
}

// OffsetForTime returns the first entry of p whose MaxTimestamp is >= ts.
func (s *Store) OffsetForTime(ctx context.Context, p metadata.Partition, ts int64) (metadata.IndexEntry, bool, error) {
	m, err := offsetForTimeScript.Run(ctx, s.client, []string{timesKey(p), indexKey(p)}, ts).Text()
	if errors.Is(err, redis.Nil) {
		return metadata.IndexEntry{}, false, nil
	}
	if err != nil {
		return metadata.IndexEntry{}, false, fmt.Errorf("finding offset for time %d in %s: %w", ts, partitionName(p), err)
	}
	e, err := decodeEntry(m)
	if err != nil {
		return metadata.IndexEntry{}, false, fmt.Errorf("finding offset for time %d in %s: %w", ts, partitionName(p), err)
	}
	return e, true, nil
}

// InitProducerID hands out the next producer id, from 0, with epoch 0.
func (s *Store) InitProducerID(ctx context.Context) (int64, int16, error) {
	n, err := s.client.Incr(ctx, producerIDKey()).Result()
	if err != nil {
		return 0, 0, fmt.Errorf("handing out producer id: %w", err)
	}
	return n - 1, 0, nil
}
