package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// waitTimeout is how long CheckDurability waits for a replica to confirm a
// write.
const waitTimeout = 2 * time.Second

// CheckDurability reports whether the server keeps what it acknowledges.
// It returns nil when the append-only file is on with appendfsync always,
// when a replica confirms a write with WAIT, or when CONFIG is refused, as
// on managed services (MemoryDB, for one) whose durability is their own
// promise. Otherwise it returns an error wrapping ErrNotDurable that says
// what to change.
func (s *Store) CheckDurability(ctx context.Context) error {
	cfg, err := s.client.ConfigGet(ctx, "append*").Result()
	var rerr redis.Error
	if errors.As(err, &rerr) {
		return nil // CONFIG is disabled or forbidden: a managed service
	}
	if err != nil {
		return fmt.Errorf("checking durability: reading config: %w", err)
	}
	if cfg["appendonly"] == "yes" && cfg["appendfsync"] == "always" {
		return nil
	}
	replicas, err := s.confirmingReplicas(ctx)
	if err != nil {
		return fmt.Errorf("checking durability: %w", err)
	}
	if replicas > 0 {
		return nil
	}
	return fmt.Errorf("%w: appendonly is %q and appendfsync %q, and no replica confirms writes; "+
		"set appendonly yes and appendfsync always, or add a replica",
		ErrNotDurable, cfg["appendonly"], cfg["appendfsync"])
}

// confirmingReplicas writes a probe and returns how many replicas confirm
// it within waitTimeout. WAIT counts the writes of its own connection, so
// both go down one pipeline.
func (s *Store) confirmingReplicas(ctx context.Context) (int64, error) {
	info, err := s.client.Info(ctx, "replication").Result()
	if err != nil {
		return 0, fmt.Errorf("reading replication info: %w", err)
	}
	if connectedReplicas(info) == 0 {
		return 0, nil
	}
	var wait *redis.Cmd
	_, err = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, durabilityProbeKey(), uuid.NewString(), 0)
		wait = p.Do(ctx, "WAIT", 1, waitTimeout.Milliseconds())
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("waiting for a replica: %w", err)
	}
	return wait.Int64()
}

// connectedReplicas reads connected_slaves from INFO replication.
func connectedReplicas(info string) int {
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "connected_slaves:"); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	return 0
}
