// Package redis is the production metadata backend: topics, offsets, the
// object index and producer sequences in Redis, shared by every agent.
//
// # Key files
//
//   - keys.go builds every key; scripts.go holds every Lua script, each with
//     its KEYS, ARGV and return codes.
//   - commit.go is Log.Commit: one EVALSHA of commitScript per commit.
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
//
// # Caveats
//
// commitScript names sluice:epoch beside the partitions' keys, so a commit
// spans two slots: on Redis Cluster the epoch must move into each slot (a
// per-partition copy) before commits can be split per shard. Producer
// sequences are kept per producer id forever; expiring idle producers, as
// Kafka's producer.id.expiration.ms does, is not done yet.
package redis
