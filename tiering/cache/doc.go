// Package cache holds byte ranges of bucket objects in memory for the read
// path (tiering.Reader): a size-bounded LRU keyed by (object, position,
// length).
//
// Invariants:
//   - Entries never go stale: objects are immutable and keys never reused,
//     so there is no invalidation.
//   - Memory stays under the configured bound, counting a fixed overhead per
//     entry; a range larger than the bound is served but not kept.
//   - Concurrent requests for one missing range cause one load (one GET),
//     through singleflight; a caller that cancels does not cancel the load
//     for the others.
//
// Ranges are matched exactly: a cached range does not serve a request for a
// sub-range. Readers ask for the ranges the index records, so repeats match.
package cache
