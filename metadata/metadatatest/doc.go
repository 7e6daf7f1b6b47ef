// Package metadatatest holds AcceptanceTest, the suite every metadata
// backend must pass: metadata/memory and metadata/redis run the same cases,
// so a behaviour the agent relies on is pinned once, here, and not in each
// backend's own tests.
//
// The cases follow the doc comments in package metadata and, where those
// leave Kafka semantics implicit, Kafka 3.x:
//   - topics: create, exists, delete and create again with fresh offsets
//     (state is keyed by topic ID), AddPartitions, AlterConfigs;
//   - commits: dense offsets from 0, several partitions per commit, index
//     entries that coalesce a partition's consecutive accepted batches,
//     Index, Offsets and OffsetForTime;
//   - idempotent producers: the last 5 batches per (producer, partition),
//     duplicates, sequence gaps with int32 wrap-around, epochs;
//   - Watch, when the store is a metadata.Watcher, for commits made through
//     another instance on the same backend;
//   - concurrent commits never repeat or skip an offset.
//
// Each case asks newStore for a store on a fresh, empty backend.
package metadatatest
