// Package cache holds byte ranges of bucket objects in memory for the read
// path (tiering.Reader): a size-bounded LRU keyed by (object, position,
// length).
//
// Invariants:
//   - Entries never go stale: objects are immutable and keys never reused,
//     so there is no invalidation.
//   - Memory stays under the configured bound, counting a fixed overhead per
//     entry; a range larger than the bound is served but not kept.
//   - Concurrent requests for one missing range cause one load (one GET): a
//     request is served by any cached or loading range that contains it,
//     and finding that and registering a new load happen under one lock. A
//     caller that cancels does not cancel the load for the others.
//   - A range added with Put is handed back to its owner at eviction only
//     if no read was ever served from it: otherwise a reader may still
//     hold a slice of it.
//
// Requests are matched by containment, so one load of a wide span (Acquire
// with a merge) serves every narrower request inside it: the read path GETs
// the index ranges of several partitions of one object as one span.
package cache
