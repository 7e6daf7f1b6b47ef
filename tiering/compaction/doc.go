// Package compaction rewrites a partition's small index entries into one
// compacted segment that carries its real offsets. It is pure apart from
// the reads and the upload it is given: it knows nothing of Redis or the
// agent, which decide what to compact (with Plan), swap the index entries
// for the segment's (a compare-and-set in the metadata store), and delete
// what is no longer referenced after a grace period.
//
// A segment is cut into index entries of about a fetch's size, not one
// entry for the whole section: a read takes whole entries, so a consumer
// replaying a large segment reads it range by range, as Kafka's offset
// index lets a broker read a log segment.
//
// # Invariants
//
//   - A segment holds exactly the offsets of its sources, in order, without
//     gap: Build walks every batch of every source, counts offsets from the
//     source's BaseOffset, and refuses (ErrMismatch) bytes whose batches do
//     not end at the source's LastOffset. Batches are copied as stored
//     (compression kept); only the base offset field, outside the batch
//     CRC, is written, with the batch's real offset.
//   - A segment's entries cover its section exactly, in order, each made of
//     whole batches, with the largest max timestamp of its own batches.
//   - A segment is checked with segment.Verify before it is uploaded, and
//     is uploaded under a key never used before (tiering.NewSegmentKey), so
//     an upload can never overwrite data; a segment whose index swap loses
//     the race is simply deleted.
//   - Plan rewrites a byte again only when the segment holding it would at
//     least double, so write amplification grows with the logarithm of
//     TargetBytes over the flush size, not linearly.
package compaction
