// Package produce is the agent's produce buffer: one in-memory buffer shared
// by every partition, flushed as one object per flush.
//
// A flush is sealed when FlushBytes are buffered, when its first batch has
// waited FlushInterval, or when the buffer stops. Sealed flushes upload
// concurrently (up to Uploads at once) and commit one at a time in seal
// order, so an idempotent producer's batches are committed in the order it
// sent them.
//
// Invariants:
//   - Durability order: upload under a key never used before, then commit,
//     then answer. Nothing is answered from memory.
//   - One object, so one PUT, per flush, whatever the number of partitions
//     or producers; one commit per flush. Only an operator who sets
//     UploadHedges trades that bound for a second PUT of the same object
//     beside a straggling one, up to that share of uploads: flushes commit
//     in order, so one slow PUT holds up every flush sealed after it.
//   - Memory is bounded by BufferBytes, counted from before a request is
//     read when the caller reserves its room (Reserve, which waits at most
//     ReserveWait): an Append waits for the room its reservation does not
//     cover and gives up with ErrBufferFull, retriable, at its deadline. A flush is held once: its
//     batches' bytes are let go when it is encoded, though they count until
//     it is answered.
//   - When a flush fails, every flush sealed before the failure was seen
//     fails too, without committing: no producer gets a later batch
//     committed after an earlier one was lost. A flush that a sharded store
//     committed in part (some batches with metadata.ErrShardFailed) counts
//     as failed for this, but its committed batches are answered and its
//     object is not an orphan.
package produce
