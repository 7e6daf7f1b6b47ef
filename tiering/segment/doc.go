// Package segment owns the byte format of every object Sluice writes to the
// bucket, and the Kafka v2 record-batch helpers the produce and fetch paths
// share. It is pure: it reads io.ReaderAt and writes io.Writer, and knows
// nothing of S3, Redis or the network.
//
// # Objects
//
// An agent's flush writes one ingest object holding the batches of every
// partition it buffered; compaction rewrites them into compacted segments.
// Both have the same layout and say which they are in their header:
//
//	offset          size  field
//	--------------  ----  ---------------------------------------------------
//	0               4     magic "SLCE"
//	4               2     version (uint16, big endian like every field)
//	6               1     kind: 1 ingest, 2 compacted
//	7               1     reserved, 0
//	8               ...   section 0: the record batches of one partition,
//	                      exactly as the producer sent them, back to back
//	...             ...   section 1 ... section n-1, each starting where the
//	                      previous one ends
//	F               4     footer: section count n
//	F+4             ...   n entries, in section order:
//	                        2   topic name length L (<= 249)
//	                        L   topic name
//	                        16  topic ID
//	                        4   partition
//	                        8   section position (absolute)
//	                        8   section length
//	                        4   batch count (>= 1)
//	                        8   record count
//	                        8   first timestamp (first batch, Unix ms)
//	                        8   max timestamp (over all batches, Unix ms)
//	                        8   base offset (-1 in ingest objects)
//	                        8   last offset (-1 in ingest objects)
//	                        4   CRC-32C of the section's bytes
//	size-16         2     version again
//	size-14         1     kind again
//	size-13         1     reserved, 0
//	size-12         4     footer length B (from F to size-16)
//	size-8          4     CRC-32C of bytes F to size-8 (footer and the
//	                      trailer fields above)
//	size-4          4     magic "ECLS"
//
// The trailer repeats version and kind so a reader learns everything from
// one ranged read of the object's tail. Sections tile the data exactly: the
// first starts at 8, each starts where the previous ended, the last ends at
// F, and no (topic ID, partition) appears twice. ReadFooter enforces this,
// so a valid footer never points outside the object.
//
// Offsets are assigned by Redis after the upload, so ingest objects carry
// none; the position WriteBatch returns is what the commit records for each
// batch. Compacted segments carry their real offsets in the index and in
// every batch's base offset field, so long-retention data explains itself.
//
// # Version migration
//
// Objects are immutable and may live for years, so:
//
//   - A writer writes only Version. A reader reads every version it knows and
//     returns ErrUnsupportedVersion for newer ones; it never guesses.
//   - Any change to the layout above, however small, is a new version. The
//     reserved bytes must be zero in version 1 and give no room to extend it.
//   - A new version ships in two releases: first readers that understand it
//     (while writers still write the old one), then writers that write it.
//     A rolling upgrade therefore never produces an object a running agent
//     cannot read.
//   - Support for an old version is dropped only after compaction or
//     retention has rewritten or deleted every object of it; `sluice object
//     inspect` reports an object's version to check that.
//
// # Batches
//
// ParseBatch, Batches and SetBaseOffset work on Kafka v2 record batches
// without copying or decompressing them. ParseBatch checks the length, magic
// 2 and the CRC-32C, which covers everything from the attributes to the end.
// The base offset is outside the CRC, which lets SetBaseOffset write the
// offset Redis assigned into a stored batch on its way to a consumer.
//
// Every length read from untrusted bytes is checked against the bytes
// actually present before anything is allocated; the decoders are fuzzed.
package segment
