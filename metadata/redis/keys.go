package redis

import (
	"fmt"

	"github.com/sluicehq/sluice/metadata"
)

// Every key the store uses is built here. The part in braces is the Redis
// Cluster hash tag: keys with the same tag live in the same slot, so one
// script may touch them all. A partition's keys share one tag, and the topic
// registry's keys share another.

// epochKey holds the store epoch, a random value set once per data set;
// see Open and commitScript.
func epochKey() string { return "sluice:epoch" }

// formatKey holds the format version of everything the store keeps in
// Redis; see checkFormat.
func formatKey() string { return "sluice:format" }

// shardEpochKey is a cluster shard's copy of the store epoch, and
// shardCountKey its commit counter: tag lands in the shard's anchor slot
// (see shard), so its commit script reaches both.
func shardEpochKey(tag string) string { return "sluice:{" + tag + "}:epoch" }

func shardCountKey(tag string) string { return "sluice:{" + tag + "}:commit-count" }

// producerIDKey is the counter InitProducerID increments.
func producerIDKey() string { return "sluice:producer-id" }

// durabilityProbeKey is written by CheckDurability to have a write that
// replicas must confirm. On a cluster each primary gets its own, beside its
// shard's epoch.
func durabilityProbeKey(sh shard) string {
	if sh.name == "" {
		return "sluice:durability-probe"
	}
	return sh.epochKey + ":durability-probe"
}

// commitsChannel carries one message per commit; see commitScript.
func commitsChannel() string { return "sluice:commits" }

// topicNamesKey is a set of every topic name.
func topicNamesKey() string { return "sluice:{topics}:names" }

// topicIDsKey is a hash from topic ID (UUID form) to topic name, so that an
// ID is never registered twice.
func topicIDsKey() string { return "sluice:{topics}:ids" }

// topicKey is a hash per topic: "id", "partitions" and "config:<name>"
// fields. A name holding braces cannot move the key out of the {topics}
// slot: the first brace pair sets the tag.
func topicKey(name string) string { return "sluice:{topics}:topic:" + name }

// partitionName is a partition's name in keys and notifications.
func partitionName(p metadata.Partition) string {
	return fmt.Sprintf("%s:%d", p.Topic, p.Index)
}

func partitionTag(p metadata.Partition) string { return "sluice:{p:" + partitionName(p) + "}" }

// stateKey is a hash: "hw" the next offset, "start" the log-start offset
// (absent means 0), "maxts" the largest entry max timestamp, and "refn" and
// "refhw" for refsKey. The key exists exactly while the partition does:
// commits to a partition without it fail with ErrUnknownTopic.
func stateKey(p metadata.Partition) string { return partitionTag(p) + ":state" }

// indexKey is a sorted set of index entries scored by base offset; members
// are encoded by encodeEntry.
func indexKey(p metadata.Partition) string { return partitionTag(p) + ":index" }

// timesKey is a sorted set of the base offsets of the entries whose max
// timestamp is above every earlier entry's, scored by that timestamp. The
// first entry at or after a time is always one of them.
func timesKey(p metadata.Partition) string { return partitionTag(p) + ":times" }

// producersKey is a hash from producer id to its sequences on the
// partition: "epoch;first,last,base;..." with the last 5 batches, oldest
// first.
func producersKey(p metadata.Partition) string { return partitionTag(p) + ":producers" }

// refsKey is a hash from object key to the number of index entries of the
// partition naming it, so that cleanup asks whether a partition still
// names an object without walking its index. Every script that adds or
// drops entries keeps it, and the state hash's "refn" and "refhw" fields
// with it, by which referencedScript tells a hash that no longer counts
// the index (a partition from before it, or changed by an agent of such a
// build) and builds it again.
func refsKey(p metadata.Partition) string { return partitionTag(p) + ":refs" }

// keysPerGroup is len(partitionKeys(p)): the commit scripts take that many
// keys per partition (pkey in commitBody).
const keysPerGroup = 5

// partitionKeys are all keys of p, in the order commitScript takes them.
func partitionKeys(p metadata.Partition) []string {
	return []string{stateKey(p), indexKey(p), timesKey(p), producersKey(p), refsKey(p)}
}

// orphansKey is a sorted set of object keys whose commit failed, scored by
// the time they were recorded in Unix milliseconds.
func orphansKey() string { return "sluice:orphans" }

// commitCountKey counts commits. It only grows; a Redis that shows a lower
// count than an agent has seen has lost acknowledged writes.
func commitCountKey() string { return "sluice:commit-count" }

// groupTag is the hash tag of a consumer group's keys: its state and its
// offsets share one slot, so a commit checks the generation atomically. A
// group id holding "}" ends the tag early; its keys then share a slot with
// another group's, which is harmless, and stay distinct.
func groupTag(group string) string { return "sluice:{g:" + group + "}" }

// groupStateKey is a hash: "gen" the generation, "members" the member
// count, "type" and "state" for ListGroups, and "data" the whole state as
// encodeGroupState writes it. It exists exactly while the group has saved
// state.
func groupStateKey(group string) string { return groupTag(group) + ":state" }

// groupOffsetsKey is a hash from offsetField (partition and topic name) to
// the committed offset as encodeOffset writes it.
func groupOffsetsKey(group string) string { return groupTag(group) + ":offsets" }

// groupNamesKey is a set of group ids, for ListGroups. Every write adds
// the id and DeleteGroup removes it, so it may hold ids of groups since
// deleted; ListGroups skips those.
func groupNamesKey() string { return "sluice:{groups}:names" }

// leaseKey holds the holder of the lease called name, with the lease's
// expiry as the key's; see leaseScript. Leases only spread maintenance work.
func leaseKey(name string) string { return "sluice:lease:" + name }

// The fleet registry's keys share the tag {agents}, so one script changes
// them together; see registry.go.

// agentsKey is a sorted set of registered node ids, each scored by when its
// registration expires, in Redis server time (Unix milliseconds).
func agentsKey() string { return "sluice:{agents}:expiry" }

// agentInfoKey is a hash from node id to the agent as encodeAgent writes it.
func agentInfoKey() string { return "sluice:{agents}:info" }

// agentIDKey is the counter registerAgentScript increments to give node ids.
func agentIDKey() string { return "sluice:{agents}:next-id" }
