package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/redis/go-redis/v9"
)

// A shard is one primary of the store and the slots it serves. Each shard
// has its own copy of the store epoch and its own commit counter, in keys
// whose hash tag lands in the shard's lowest slot (its anchor), so that a
// shard's commit script checks and counts in one atomic step without
// touching another shard. A single Redis is one shard whose anchor keys are
// sluice:epoch and sluice:commit-count.
type shard struct {
	// name is "slot<N>", N the anchor slot; "" for a single Redis. It
	// names the shard's count in CommitCounts and in notifications.
	name     string
	epochKey string
	countKey string
}

// single is the one shard of a Redis that is not a cluster.
var single = shard{epochKey: epochKey(), countKey: commitCountKey()}

// newShard is the shard anchored at slot.
func newShard(slot int) shard {
	tag := slotTag(slot)
	return shard{name: "slot" + strconv.Itoa(slot), epochKey: shardEpochKey(tag), countKey: shardCountKey(tag)}
}

// shardByName is the inverse of shard.name.
func shardByName(name string) (shard, error) {
	if name == "" {
		return single, nil
	}
	n, err := strconv.Atoi(name[min(len(name), 4):])
	if name[:min(len(name), 4)] != "slot" || err != nil || n < 0 || n >= numSlots {
		return shard{}, fmt.Errorf("%w: shard name %q", errBadReply, name)
	}
	return newShard(n), nil
}

// topology maps every slot to the shard serving it, as CLUSTER SLOTS
// showed it when it was read.
type topology struct {
	shards []shard
	owner  [numSlots]int16 // index in shards; -1 when no primary serves the slot
}

// shardPart is the part of a commit that one shard makes.
type shardPart struct {
	shard  shard
	groups []group
}

// split groups a commit's partition groups by the shard serving them, in
// order of first appearance. A partition in a slot that no shard serves
// fails its commit with errTopology.
func (t *topology) split(groups []group) ([]shardPart, error) {
	var parts []shardPart
	at := make(map[int16]int)
	for _, g := range groups {
		o := t.owner[keySlot(stateKey(g.p))]
		if o < 0 {
			return nil, fmt.Errorf("%w: no primary serves partition %s", errTopology, partitionName(g.p))
		}
		i, ok := at[o]
		if !ok {
			i = len(parts)
			at[o] = i
			parts = append(parts, shardPart{shard: t.shards[o]})
		}
		parts[i].groups = append(parts[i].groups, g)
	}
	return parts, nil
}

// readTopology reads CLUSTER SLOTS. A shard is known by its anchor, the
// lowest slot it serves: it stays the same through failovers, and changes
// only when slots move between primaries.
func readTopology(ctx context.Context, c *redis.ClusterClient) (*topology, error) {
	ranges, err := c.ClusterSlots(ctx).Result()
	if err != nil {
		return nil, fmt.Errorf("reading the cluster's slots: %w", err)
	}
	lowest := map[string]int{} // primary ID to its lowest slot
	for _, r := range ranges {
		if len(r.Nodes) == 0 {
			continue
		}
		id := r.Nodes[0].ID
		if s, ok := lowest[id]; !ok || r.Start < s {
			lowest[id] = r.Start
		}
	}
	t := &topology{}
	for i := range t.owner {
		t.owner[i] = -1
	}
	anchors := slices.Sorted(func(yield func(int) bool) {
		for _, s := range lowest {
			if !yield(s) {
				return
			}
		}
	})
	index := map[int]int16{}
	for i, s := range anchors {
		index[s] = int16(i)
		t.shards = append(t.shards, newShard(s))
	}
	for _, r := range ranges {
		if len(r.Nodes) == 0 {
			continue
		}
		o := index[lowest[r.Nodes[0].ID]]
		for s := max(r.Start, 0); s <= min(r.End, numSlots-1); s++ {
			t.owner[s] = o
		}
	}
	if len(t.shards) == 0 {
		return nil, fmt.Errorf("reading the cluster's slots: %w: no primary serves any slot", errTopology)
	}
	return t, nil
}

// clusterState is what a Store on a Redis Cluster keeps of the cluster.
// Its mu and Store.seenMu are never held together.
type clusterState struct {
	c *redis.ClusterClient

	mu    sync.Mutex
	topo  *topology
	stale bool // a commit met a slot that moved: read the topology again
}

// topology returns the current topology, reading it again first when a
// commit found it stale. Each shard new to the store gets the store epoch
// if it has none.
func (s *Store) topology(ctx context.Context) (*topology, error) {
	cs := s.cluster
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.topo != nil && !cs.stale {
		return cs.topo, nil
	}
	t, err := readTopology(ctx, cs.c)
	if err != nil {
		return nil, err
	}
	if err := s.anchorEpochs(ctx, t.shards); err != nil {
		return nil, err
	}
	cs.topo, cs.stale = t, false
	return t, nil
}

// markStale makes the next commit read the topology again, and the
// cluster client its own slot map: commits go to primaries' clients
// directly, so the client does not see their redirections.
func (s *Store) markStale(ctx context.Context) {
	s.cluster.mu.Lock()
	s.cluster.stale = true
	s.cluster.mu.Unlock()
	s.cluster.c.ReloadState(ctx)
}

// anchorEpochs sets the store epoch on shards that have none. A shard
// that lost its data while the topology stayed the same keeps no epoch, and
// running Stores refuse to commit to it; a Store that reads the topology
// afterwards (at Open, or after slots moved) sets it again, as Open sets a
// new epoch on an emptied single Redis. Its partitions are gone with its
// data, so their commits fail with ErrUnknownTopic rather than hand out
// offsets again.
func (s *Store) anchorEpochs(ctx context.Context, shards []shard) error {
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, sh := range shards {
			p.SetNX(ctx, sh.epochKey, s.epoch, 0)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("setting the store epoch on every shard: %w", err)
	}
	return nil
}

// errTopology is returned when a commit reaches a shard that no longer
// serves a slot of it; the next commit reads the topology again.
var errTopology = errors.New("cluster slots moved")

// isTopologyErr reports whether err says a key is not where the topology
// put it: a redirection, a slot not served, or the script's own check.
func isTopologyErr(err error) bool {
	return errors.Is(err, errTopology) || redis.HasErrorPrefix(err, "MOVED") ||
		redis.HasErrorPrefix(err, "ASK") || redis.HasErrorPrefix(err, "CLUSTERDOWN") ||
		redis.HasErrorPrefix(err, "TRYAGAIN")
}
