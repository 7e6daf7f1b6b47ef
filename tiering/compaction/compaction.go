package compaction

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/tiering"
	"github.com/sluicehq/sluice/tiering/bucket"
	"github.com/sluicehq/sluice/tiering/segment"
)

// Source is one index entry: consecutive offsets of the partition, stored
// at Pos..Pos+Len of Object.
type Source struct {
	Object       string
	Pos, Len     int64
	BaseOffset   int64
	LastOffset   int64 // inclusive
	MaxTimestamp int64 // as the index has it
	// Created is when Object was written (tiering.KeyTime); Plan leaves
	// sources younger than Policy.MinAge alone.
	Created time.Time
	// Shared is true when Object holds other partitions' bytes too (an
	// ingest object): it can be deleted only once every one of them has
	// been compacted or trimmed away.
	Shared bool
}

// Segment is a compacted segment that Build made: one partition's section.
type Segment struct {
	// Key is where Compact uploaded it, or tried to.
	Key        string
	Pos, Len   int64 // the section's bytes
	BaseOffset int64
	LastOffset int64
	Batches    int32
	Records    int64
	Size       int64  // the whole object's size
	CRC        uint32 // the whole object's CRC-32C, for the upload
	// Entries cut the section into the index entries that replace the
	// sources, in offset order.
	Entries []Entry
}

// Entry is one index entry of a segment: whole batches, from the first
// that takes it to the entry size or past it. A read takes at least a whole
// entry, so entries of about a fetch's size keep reads of a large segment
// ranged.
type Entry struct {
	Pos, Len   int64
	BaseOffset int64
	LastOffset int64
	// MaxTimestamp is the largest of its batches' max timestamps, as the
	// index entries of the same batches had it, so that time lookups find
	// the entry holding the batch.
	MaxTimestamp int64
}

// A ByteReader reads object ranges; tiering.Reader is one. Returned bytes
// are never written to.
type ByteReader interface {
	Read(ctx context.Context, key string, off, length int64) ([]byte, error)
}

// An Uploader stores objects; bucket.Bucket is one.
type Uploader interface {
	Upload(ctx context.Context, key string, data []byte) error
}

// Compact builds the compacted segment of srcs for section s, with entries
// of entryBytes, and uploads it under a fresh key. After an upload error the
// returned Segment's Key is set: the object may exist, and the caller must
// treat it as an orphan.
func Compact(ctx context.Context, r ByteReader, up Uploader, s segment.Section, srcs []Source, entryBytes int64) (Segment, error) {
	data, seg, err := Build(ctx, r, s, srcs, entryBytes)
	if err != nil {
		return Segment{}, err
	}
	seg.Key = tiering.NewSegmentKey(s.TopicID, s.Partition, seg.BaseOffset)
	if err := bucket.UploadCRC(ctx, up, seg.Key, data, seg.CRC); err != nil {
		return seg, fmt.Errorf("uploading compacted segment %s: %w", seg.Key, err)
	}
	return seg, nil
}

// Build reads srcs, which must follow each other, and returns the bytes of
// a compacted segment holding their batches in one section s, each batch
// carrying its real base offset, and its index entries of about entryBytes
// each.
func Build(ctx context.Context, r ByteReader, s segment.Section, srcs []Source, entryBytes int64) ([]byte, Segment, error) {
	if len(srcs) == 0 {
		return nil, Segment{}, ErrNoSources
	}
	var size int64
	for i, src := range srcs {
		if i > 0 && src.BaseOffset != srcs[i-1].LastOffset+1 {
			return nil, Segment{}, fmt.Errorf("%w: source at offset %d follows %d", ErrMismatch, src.BaseOffset, srcs[i-1].LastOffset)
		}
		size += src.Len
	}
	var buf bytes.Buffer
	buf.Grow(int(size) + segment.HeaderSize + segment.TrailerSize + 512)
	b := builder{w: segment.NewWriter(&buf, segment.KindCompacted), s: s, entryBytes: entryBytes}
	for _, src := range srcs {
		if err := b.copySource(ctx, r, src); err != nil {
			return nil, Segment{}, err
		}
	}
	if err := b.w.Close(); err != nil {
		return nil, Segment{}, fmt.Errorf("writing compacted segment: %w", err)
	}
	data := buf.Bytes()
	f, err := segment.Verify(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, Segment{}, fmt.Errorf("verifying compacted segment: %w", err)
	}
	sec := f.Sections[0]
	seg := Segment{Pos: sec.Pos, Len: sec.Len, BaseOffset: sec.BaseOffset, LastOffset: sec.LastOffset,
		Batches: sec.Batches, Records: sec.Records, Size: int64(len(data)), CRC: b.w.CRC(), Entries: b.entries}
	return data, seg, nil
}

// builder writes a segment's batches and cuts them into index entries.
type builder struct {
	w          *segment.Writer
	s          segment.Section
	entryBytes int64
	entries    []Entry
	scratch    []byte // a batch with its offset written in
}

// copySource appends src's batches with their real base offsets, and
// checks that they hold exactly src's offsets.
func (b *builder) copySource(ctx context.Context, r ByteReader, src Source) error {
	data, err := r.Read(ctx, src.Object, src.Pos, src.Len)
	if err != nil {
		return fmt.Errorf("reading %s at %d+%d: %w", src.Object, src.Pos, src.Len, err)
	}
	off := src.BaseOffset
	for batch, err := range segment.Batches(data) {
		if err != nil {
			return fmt.Errorf("%w: %s at %d: %w", ErrMismatch, src.Object, src.Pos, err)
		}
		if off > src.LastOffset {
			return fmt.Errorf("%w: %s at %d holds batches past offset %d", ErrMismatch, src.Object, src.Pos, src.LastOffset)
		}
		// The cached bytes are shared: the offset goes into a copy.
		b.scratch = append(b.scratch[:0], batch.Raw...)
		segment.SetBaseOffset(b.scratch, off)
		m := batch.Meta()
		m.BaseOffset = off
		pos, err := b.w.WriteBatch(b.s, b.scratch, m)
		if err != nil {
			return fmt.Errorf("writing compacted segment: %w", err)
		}
		b.cut(pos, int64(len(b.scratch)), m)
		off += int64(batch.LastOffsetDelta) + 1
	}
	if off != src.LastOffset+1 {
		return fmt.Errorf("%w: %s at %d holds offsets %d-%d, the index says %d-%d",
			ErrMismatch, src.Object, src.Pos, src.BaseOffset, off-1, src.BaseOffset, src.LastOffset)
	}
	return nil
}

// cut adds the batch written at pos, n bytes long, to the last entry, or
// starts a new one when that entry has reached the entry size.
func (b *builder) cut(pos, n int64, m segment.BatchMeta) {
	last := m.BaseOffset + int64(m.LastOffsetDelta)
	if k := len(b.entries); k > 0 && b.entries[k-1].Len < b.entryBytes {
		e := &b.entries[k-1]
		e.Len += n
		e.LastOffset = last
		e.MaxTimestamp = max(e.MaxTimestamp, m.MaxTimestamp)
		return
	}
	b.entries = append(b.entries, Entry{Pos: pos, Len: n, BaseOffset: m.BaseOffset, LastOffset: last, MaxTimestamp: m.MaxTimestamp})
}
