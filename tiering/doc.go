// Package tiering is Sluice's side of the bucket: where objects go (keys.go),
// how a bucket URL becomes a bucket.Bucket (OpenBucket), and how the read
// path gets bytes back (Reader, over tiering/cache).
//
// The parts:
//   - segment: the byte format of objects, pure and fuzzed.
//   - bucket: the object-store contract and its backends (memory, file, s3),
//     with buckettest.AcceptanceTest holding every backend to it.
//   - cache: the LRU of byte ranges under Reader. Reader.Prefetch starts the
//     reads of one fetch at once, one GET per span of close ranges of an
//     object. Reader.Keep caches an object the agent has just uploaded, so
//     that its tail consumers read it from memory.
//   - compaction: merges a partition's small index entries into one segment
//     carrying real offsets; retention: how far the log start may move.
//
// Invariants this package keeps:
//   - A key is never made twice (time plus 64 random bits), so the PUT of a
//     flush, retried or not, can never overwrite other data, and an object
//     never changes once written. That is what lets the cache skip
//     invalidation altogether.
//   - A key tells its creation time (KeyTime), so orphan cleanup (objects
//     written but never committed to Redis) can honour its grace period
//     without a HEAD per object.
//   - Concurrent reads of one range from one agent cause one GET.
//
// tiering never imports metadata or agent; the agent joins them.
package tiering
