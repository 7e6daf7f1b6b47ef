// Package metadata holds the contracts of Sluice's metadata: topics and their
// configs (TopicRegistry), offsets and the object index (Log), and the
// sentinel errors every backend returns.
//
// Two backends implement them: metadata/memory, embedded in `sluice dev` and
// used by unit tests, and metadata/redis, the production store. Both pass
// metadatatest.AcceptanceTest.
//
// Invariants every backend keeps:
//   - Only Log.Commit assigns offsets. Per partition they are dense, start at
//     0, never repeat and never go back.
//   - A commit is atomic: offsets, index entries, producer sequences and the
//     high watermark change together or not at all.
//   - For each (producer id, partition) the last 5 batches' sequence ranges
//     are kept; a duplicate gets its original offset and is not indexed again.
//   - Index entries are immutable: never changed in place. The optional
//     Lifecycle replaces whole entries with one covering the same offsets
//     (compaction) or drops those below the log start (retention); a reader
//     that cached one reads the index again if its object has been deleted.
package metadata
