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

// CheckDurability reports whether the server keeps what it acknowledges;
// on a cluster, whether every primary does. A server passes when its
// append-only file is on with appendfsync always, when a replica confirms
// a write with WAIT, or when CONFIG is refused, as on managed services
// (MemoryDB, for one) whose durability is their own promise. Otherwise it
// returns an error wrapping ErrNotDurable that says what to change. A
// server that passes by its replica has every later commit WAIT for one
// replica (see Commit).
func (s *Store) CheckDurability(ctx context.Context) error {
	if s.cluster == nil {
		return s.checkDurability(ctx, s.client.(*redis.Client), single)
	}
	t, err := s.topology(ctx)
	if err != nil {
		return fmt.Errorf("checking durability: %w", err)
	}
	for _, sh := range t.shards {
		node, err := s.cluster.c.MasterForKey(ctx, sh.epochKey)
		if err != nil {
			return fmt.Errorf("checking durability: finding the primary of shard %s: %w", sh.name, err)
		}
		if err := s.checkDurability(ctx, node, sh); err != nil {
			return fmt.Errorf("primary %s (shard %s): %w", node.Options().Addr, sh.name, err)
		}
	}
	return nil
}

// checkDurability checks one server, the primary of sh. When a replica is
// what makes it durable, sh's commits wait for a replica from then on.
func (s *Store) checkDurability(ctx context.Context, c *redis.Client, sh shard) error {
	cfg, err := c.ConfigGet(ctx, "append*").Result()
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
	replicas, err := confirmingReplicas(ctx, c, sh)
	if err != nil {
		return fmt.Errorf("checking durability: %w", err)
	}
	if replicas > 0 {
		s.seenMu.Lock()
		s.replicated[sh.name] = true
		s.seenMu.Unlock()
		return nil
	}
	return fmt.Errorf("%w: appendonly is %q and appendfsync %q, and no replica confirms writes; "+
		"set appendonly yes and appendfsync always, or add a replica",
		ErrNotDurable, cfg["appendonly"], cfg["appendfsync"])
}

// confirmingReplicas writes a probe, in a slot of sh so that its primary
// c takes it, and returns how many replicas confirm it within waitTimeout.
// WAIT counts the writes of its own connection, so both go down one
// pipeline.
func confirmingReplicas(ctx context.Context, c *redis.Client, sh shard) (int64, error) {
	info, err := c.Info(ctx, "replication").Result()
	if err != nil {
		return 0, fmt.Errorf("reading replication info: %w", err)
	}
	if connectedReplicas(info) == 0 {
		return 0, nil
	}
	var wait *redis.Cmd
	_, err = c.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, durabilityProbeKey(sh), uuid.NewString(), 0)
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
