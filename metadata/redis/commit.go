package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/sluicehq/sluice/metadata"
)

// codeErrs maps commitScript's batch codes to results.
var codeErrs = map[int64]error{
	2: metadata.ErrOutOfOrderSequence,
	3: metadata.ErrInvalidProducerEpoch,
	4: metadata.ErrUnknownTopic,
}

// group is the batches of one partition, by position in the commit.
type group struct {
	p     metadata.Partition
	batch []int
}

// Commit assigns offsets to c's batches and indexes them. On a single Redis
// that is one round trip: one EVALSHA of commitScript (EVAL if the server
// lost its script cache). On a cluster it is one EVALSHA of
// clusterCommitScript per shard holding partitions of c, all at once; each
// is atomic, and the batches of a shard that failed get ErrShardFailed
// while the others are committed. After a timeout a commit may or may not
// have happened; a retry of the same idempotent batches then comes back as
// duplicates.
func (s *Store) Commit(ctx context.Context, c metadata.Commit) ([]metadata.BatchResult, error) {
	if err := validateCommit(c); err != nil {
		return nil, err
	}
	groups := groupBatches(c.Batches)
	rs := make([]metadata.BatchResult, len(c.Batches))
	if s.cluster == nil {
		if err := s.commitShard(ctx, s.client, shardPart{shard: single, groups: groups}, c, rs); err != nil {
			return nil, fmt.Errorf("committing %s: %w", c.Object, err)
		}
		return rs, nil
	}
	return s.commitCluster(ctx, c, groups, rs)
}

// commitCluster runs one shard commit per shard at once, so a commit takes
// about one round trip whatever the number of shards.
func (s *Store) commitCluster(ctx context.Context, c metadata.Commit, groups []group, rs []metadata.BatchResult) ([]metadata.BatchResult, error) {
	topo, err := s.topology(ctx)
	var parts []shardPart
	if err == nil {
		parts, err = topo.split(groups)
	}
	if err != nil {
		s.markStale(ctx)
		return nil, fmt.Errorf("committing %s: %w", c.Object, err)
	}
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i, part := range parts {
		wg.Go(func() { errs[i] = s.commitOnShard(ctx, part, c, rs) })
	}
	wg.Wait()
	failed := 0
	for i, err := range errs {
		if err == nil {
			continue
		}
		failed++
		if isTopologyErr(err) {
			s.markStale(ctx)
		}
		for _, g := range parts[i].groups {
			for _, b := range g.batch {
				rs[b] = metadata.BatchResult{Err: fmt.Errorf("%w: shard %s: %w", metadata.ErrShardFailed, parts[i].shard.name, err)}
			}
		}
	}
	if failed == len(parts) {
		return nil, fmt.Errorf("committing %s: %w", c.Object, errors.Join(errs...))
	}
	return rs, nil
}

// commitOnShard runs part on the primary holding its anchor, through that
// node's own client: the cluster client would replay the script after a
// broken connection.
func (s *Store) commitOnShard(ctx context.Context, part shardPart, c metadata.Commit, rs []metadata.BatchResult) error {
	node, err := s.cluster.c.MasterForKey(ctx, part.shard.epochKey)
	if err != nil {
		return fmt.Errorf("finding the primary of shard %s: %w", part.shard.name, err)
	}
	return s.commitShard(ctx, node, part, c, rs)
}

// commitShard runs the commit script for part and fills in rs for its
// batches.
func (s *Store) commitShard(ctx context.Context, sc redis.Cmdable, part shardPart, c metadata.Commit, rs []metadata.BatchResult) error {
	pkeys, gargs := commitArgs(c, part.groups)
	fixed := []any{s.epoch, c.Object, commitsChannel(), len(part.groups)}
	seen := s.seenCount(part.shard.name)
	var res []int64
	var err error
	if part.shard.name == "" {
		keys := append(append([]string{part.shard.epochKey}, pkeys...), part.shard.countKey)
		args := append(append(fixed, gargs...), seen)
		res, err = s.runCommit(ctx, sc, part.shard, commitScript, keys, args...)
	} else {
		args := append(fixed, seen, part.shard.name)
		for _, k := range pkeys {
			args = append(args, k)
		}
		args = append(args, gargs...)
		res, err = s.runCommit(ctx, sc, part.shard, clusterCommitScript, []string{part.shard.epochKey, part.shard.countKey}, args...)
	}
	switch {
	case err != nil:
		return err
	case len(res) == 1 && res[0] == 0:
		return metadata.ErrFenced
	case len(res) == 1 && res[0] == -1:
		return errTopology
	case len(res) < 2:
		return fmt.Errorf("%w: commit reply %v", errBadReply, res)
	}
	if err := decodeResults(res[:len(res)-1], part.groups, rs); err != nil {
		return err
	}
	s.observe(part.shard.name, res[len(res)-1])
	return nil
}

// runCommit runs a commit script on sh. When sh's durability rests on a
// replica, WAIT follows the script down the same pipeline (WAIT counts the
// writes of its own connection), so a replica holds the commit before it is
// acknowledged, still in one round trip.
func (s *Store) runCommit(ctx context.Context, c redis.Cmdable, sh shard, script *redis.Script, keys []string, args ...any) ([]int64, error) {
	s.seenMu.Lock()
	replicated := s.replicated[sh.name]
	s.seenMu.Unlock()
	if !replicated {
		return script.Run(ctx, c, keys, args...).Int64Slice()
	}
	for loaded := false; ; loaded = true {
		var res *redis.Cmd
		var wait *redis.Cmd
		_, _ = c.Pipelined(ctx, func(p redis.Pipeliner) error {
			res = script.EvalSha(ctx, p, keys, args...)
			wait = p.Do(ctx, "WAIT", 1, waitTimeout.Milliseconds())
			return nil
		})
		if !loaded && redis.HasErrorPrefix(res.Err(), "NOSCRIPT") {
			if err := script.Load(ctx, c).Err(); err != nil {
				return nil, fmt.Errorf("loading the commit script: %w", err)
			}
			continue
		}
		vals, err := res.Int64Slice()
		if err != nil {
			return nil, err
		}
		if n, err := wait.Int64(); err != nil || n < 1 {
			return nil, fmt.Errorf("%w within %s (WAIT: %d, %v)", ErrNotReplicated, waitTimeout, n, err)
		}
		return vals, nil
	}
}

// validateCommit refuses commits that would corrupt the index rather than
// fail one batch: they are agent bugs, not client errors.
func validateCommit(c metadata.Commit) error {
	if c.Object == "" || strings.ContainsAny(c.Object, "\n\r") {
		return fmt.Errorf("%w: object key %q is empty or holds a line break", errInvalidCommit, c.Object)
	}
	for i, b := range c.Batches {
		if b.Records < 1 || b.Pos < 0 || b.Len < 0 {
			return fmt.Errorf("%w: batch %d has %d records at %d+%d", errInvalidCommit, i, b.Records, b.Pos, b.Len)
		}
	}
	return nil
}

// groupBatches groups batches by partition, in order of first appearance
// and keeping their order within a partition, so that each partition's keys
// are passed once even if a caller interleaves partitions.
func groupBatches(bs []metadata.CommitBatch) []group {
	var gs []group
	at := make(map[metadata.Partition]int)
	for i, b := range bs {
		g, ok := at[b.Partition]
		if !ok {
			g = len(gs)
			at[b.Partition] = g
			gs = append(gs, group{p: b.Partition})
		}
		gs[g].batch = append(gs[g].batch, i)
	}
	return gs
}

// commitArgs lays groups out as the commit scripts' partition keys and
// per-group arguments.
func commitArgs(c metadata.Commit, groups []group) ([]string, []any) {
	keys := make([]string, 0, keysPerGroup*len(groups))
	args := make([]any, 0, 2*len(groups)+7*len(c.Batches))
	for _, g := range groups {
		keys = append(keys, partitionKeys(g.p)...)
		args = append(args, partitionName(g.p), len(g.batch))
		for _, i := range g.batch {
			b := c.Batches[i]
			args = append(args, b.Pos, b.Len, b.Records, b.MaxTimestamp, b.ProducerID, b.ProducerEpoch, b.BaseSequence)
		}
	}
	return keys, args
}

// decodeResults maps a commit script's reply, without its final count,
// back to the commit's batch order in rs.
func decodeResults(res []int64, groups []group, rs []metadata.BatchResult) error {
	n := 0
	for _, g := range groups {
		n += len(g.batch)
	}
	want := 1 + len(groups) + 2*n
	if len(res) != want || res[0] != 1 {
		return fmt.Errorf("%w: commit reply of %d values, want %d", errBadReply, len(res), want)
	}
	at := 1
	for _, g := range groups {
		logStart := res[at]
		at++
		for _, i := range g.batch {
			code, off := res[at], res[at+1]
			at += 2
			rs[i] = metadata.BatchResult{LogStart: logStart, Err: codeErrs[code]}
			switch code {
			case 0, 1:
				rs[i].BaseOffset, rs[i].Duplicate = off, code == 1
			case 4:
				rs[i].LogStart = 0
			}
		}
	}
	return nil
}
