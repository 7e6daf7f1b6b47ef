// Package redis is the production metadata backend: topics, offsets, the
// object index and producer sequences in Redis, shared by every agent.
//
// # Key files
//
//   - keys.go builds every key; scripts.go holds every Lua script, each with
//     its KEYS, ARGV and return codes.
//   - commit.go is Log.Commit: one EVALSHA of commitScript per commit, or
//     on a cluster one of clusterCommitScript per shard the commit touches.
//   - shards.go maps a cluster's slots to shards and each shard to its
//     anchor keys; slot.go hashes keys to slots as Redis Cluster does.
//   - topics.go is the TopicRegistry, log.go the reads, watch.go the
//     commit notifications, durability.go the start-up check.
//
// # Invariants
//
//   - A partition's keys share one hash tag, so its state, index, time
//     index and producer sequences are in one slot and commitScript changes
//     them atomically. The registry's keys share the tag {topics}.
//   - Offsets are assigned only by commitScript, from the partition's "hw",
//     which only it raises. A commit is one script: it all happens or none
//     of it does, and it publishes the new high watermarks and index
//     entries in the same step, so watchers see commits in commit order.
//   - A partition exists exactly while its state key does. Topic changes
//     create partition state before registering it and delete it before
//     unregistering, so a crash between the two steps leaves only
//     unreachable state behind.
//   - The store epoch (sluice:epoch) is set once per data set. Each Store
//     reads it at Open and every commit checks it: a Redis that lost its
//     data, and so its epoch, refuses commits with metadata.ErrFenced
//     instead of handing out offsets a second time.
//   - Watch calls fn(nil) whenever it (re)subscribes, the first time
//     included: notifications published while unsubscribed are lost.
//   - Every script's declared keys are in one slot; multi-key scripts use
//     the partition, {topics} or group tags. Keys with no tag (the epoch,
//     the producer-id counter, the orphan log, leases) are only ever
//     touched one at a time. Pipelines may mix slots: the cluster client
//     splits them per node.
//
// # Redis Cluster
//
// With a redis+cluster:// URL the store runs on a Redis Cluster. A commit
// is split by the shard (primary) serving each partition's slot, and each
// part runs as one clusterCommitScript on that primary, all parts at once:
// about one round trip in wall time, one atomic step per shard. A shard
// part that fails leaves its batches with metadata.ErrShardFailed while
// the other parts stand; only when every part fails does Commit fail.
//
// The epoch fence and the commit counter must be checked in the same
// atomic step as the writes they guard, so each shard has its own copy
// of the epoch and its own counter (its anchor keys), under a hash tag
// chosen to land in the shard's lowest slot (slotTag). The lowest slot
// names the shard ("slot0", "slot5461", ...): every agent derives the same
// names from CLUSTER SLOTS, and the names survive failovers, which keep
// the slots. The alternatives were worse: a copy of the epoch and count in
// every partition's slot costs a counter per partition and a bucket record
// as large as the partition list; one global pair would make every commit
// cross shards. The store epoch itself stays in sluice:epoch; Open and
// every re-read of the topology copy it to anchors that have none.
//
// A shard's partition keys are not in its anchor's slot, so the script
// declares only the anchor keys (routing and the server's same-slot check
// use those) and gets the partition keys in ARGV, which the Redis 7 flag
// allow-cross-slot-keys allows for keys the node serves. Before writing,
// it checks that the node serves every key it will touch, since a script
// that fails midway keeps its earlier writes; a key it does not serve (the
// slot moved or is moving) refuses the part, and the store reads CLUSTER
// SLOTS again before the next commit. The part goes to the primary's own
// client, never retried by the cluster client after a broken connection.
//
// Notifications name the shard in their "s" line, so watchers track the
// highest count seen per shard; classic PUBLISH reaches subscribers on
// every node. CheckDurability checks every primary that serves slots.
//
// # Caveats
//
// A shard emptied while the slots stay put fences running agents (its
// anchor lost the epoch, and its count is below the one they saw), but an
// agent that reads the topology afterwards copies the epoch there again;
// the shard's partition state is gone too, so their commits fail with
// ErrUnknownTopic rather than reuse offsets, and the start-up check
// against the bucket's counts refuses to start on it. When
// slots move between primaries the shards get new names, and the
// bucket's counts of the old names are no longer compared. Producer
// sequences are kept per producer id forever; expiring idle producers, as
// Kafka's producer.id.expiration.ms does, is not done yet.
package redis
