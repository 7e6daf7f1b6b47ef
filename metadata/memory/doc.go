// Package memory is the embedded metadata backend: topics, offsets, the
// object index and producer sequences held in maps behind one mutex. Unit
// tests use New, which keeps nothing; `sluice dev` uses Open, which keeps
// every change in a log file in a local directory and replays it at start.
//
// # Invariants
//
//   - Every change is a mutation (mutation.go) applied by one function,
//     apply, both live and at replay, so a reopened store is the same store.
//   - A persistent store logs and fsyncs a mutation before applying it: what
//     a call returned is on disk. A failed write changes nothing.
//   - Commit follows Kafka 3.x for idempotent producers (producer.go): a
//     producer new to a partition starts at sequence 0, a newer epoch
//     restarts at 0, an older epoch is fenced, and the last 5 batches per
//     (producer, partition) are remembered for duplicates.
//   - Index entries are never changed once a commit has returned; compaction
//     replaces whole entries with one covering the same offsets, and retention
//     drops whole entries below the log start (lifecycle.go).
//
// # Log format
//
// The file metadata.log is a sequence of records, each
//
//	length uint32 BE | CRC-32C (Castagnoli) of payload uint32 BE | payload
//
// where payload is one mutation as JSON. The first record is
// {"version":1}; a later format bumps the version, and Open refuses versions
// it does not know rather than guess. A record cut short at the end of the
// file (a crash during a write) is dropped and the file truncated; a bad
// record with good data after it is corruption, and Open fails.
//
// # Locks
//
// Store.mu guards all state; watcher.mu guards one watcher's queue and is
// only taken while Store.mu is held or alone, never the other way round.
package memory
