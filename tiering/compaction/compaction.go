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
	Pos, Len   int64 // the section's bytes, what the index entry points at
	BaseOffset int64
	LastOffset int64
	// MaxTimestamp is the largest of the sources' MaxTimestamp, so that the
	// new index entry answers time lookups as the old ones did.
	MaxTimestamp int64
	Batches      int32
	Records      int64
	Size         int64  // the whole object's size
	CRC          uint32 // the whole object's CRC-32C, for the upload
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

// Compact builds the compacted segment of srcs for section s and uploads it
// under a fresh key. After an upload error the returned Segment's Key is
// set: the object may exist, and the caller must treat it as an orphan.
func Compact(ctx context.Context, r ByteReader, up Uploader, s segment.Section, srcs []Source) (Segment, error) {
	data, seg, err := Build(ctx, r, s, srcs)
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
// carrying its real base offset, and what its index entry needs.
func Build(ctx context.Context, r ByteReader, s segment.Section, srcs []Source) ([]byte, Segment, error) {
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
	w := segment.NewWriter(&buf, segment.KindCompacted)
	var scratch []byte
	for _, src := range srcs {
		var err error
		if scratch, err = copySource(ctx, r, w, s, src, scratch); err != nil {
			return nil, Segment{}, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, Segment{}, fmt.Errorf("writing compacted segment: %w", err)
	}
	data := buf.Bytes()
	f, err := segment.Verify(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, Segment{}, fmt.Errorf("verifying compacted segment: %w", err)
	}
	seg := segmentOf(f.Sections[0], srcs, int64(len(data)))
	seg.CRC = w.CRC()
	return data, seg, nil
}

// copySource appends src's batches to w with their real base offsets,
// reusing scratch, and checks that they hold exactly src's offsets.
func copySource(ctx context.Context, r ByteReader, w *segment.Writer, s segment.Section, src Source, scratch []byte) ([]byte, error) {
	data, err := r.Read(ctx, src.Object, src.Pos, src.Len)
	if err != nil {
		return scratch, fmt.Errorf("reading %s at %d+%d: %w", src.Object, src.Pos, src.Len, err)
	}
	off := src.BaseOffset
	for b, err := range segment.Batches(data) {
		if err != nil {
			return scratch, fmt.Errorf("%w: %s at %d: %w", ErrMismatch, src.Object, src.Pos, err)
		}
		if off > src.LastOffset {
			return scratch, fmt.Errorf("%w: %s at %d holds batches past offset %d", ErrMismatch, src.Object, src.Pos, src.LastOffset)
		}
		// The cached bytes are shared: the offset goes into a copy.
		scratch = append(scratch[:0], b.Raw...)
		segment.SetBaseOffset(scratch, off)
		m := b.Meta()
		m.BaseOffset = off
		if _, err := w.WriteBatch(s, scratch, m); err != nil {
			return scratch, fmt.Errorf("writing compacted segment: %w", err)
		}
		off += int64(b.LastOffsetDelta) + 1
	}
	if off != src.LastOffset+1 {
		return scratch, fmt.Errorf("%w: %s at %d holds offsets %d-%d, the index says %d-%d",
			ErrMismatch, src.Object, src.Pos, src.BaseOffset, off-1, src.BaseOffset, src.LastOffset)
	}
	return scratch, nil
}

func segmentOf(sec segment.SectionIndex, srcs []Source, size int64) Segment {
	seg := Segment{Pos: sec.Pos, Len: sec.Len, BaseOffset: sec.BaseOffset, LastOffset: sec.LastOffset,
		MaxTimestamp: srcs[0].MaxTimestamp, Batches: sec.Batches, Records: sec.Records, Size: size}
	for _, src := range srcs {
		seg.MaxTimestamp = max(seg.MaxTimestamp, src.MaxTimestamp)
	}
	return seg
}
