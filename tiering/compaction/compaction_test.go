package compaction_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/tiering"
	"github.com/sluicehq/sluice/tiering/bucket"
	"github.com/sluicehq/sluice/tiering/compaction"
	"github.com/sluicehq/sluice/tiering/segment"
)

var (
	secA = segment.Section{Topic: "orders", TopicID: [16]byte{1, 2, 3}, Partition: 0}
	secB = segment.Section{Topic: "orders", TopicID: [16]byte{1, 2, 3}, Partition: 1}
)

// batch builds a valid v2 batch of n records as a producer sends it: base
// offset 0, since offsets are assigned after the upload.
func batch(n int32, ts int64) []byte {
	rb := kmsg.RecordBatch{
		Magic: 2, Attributes: int16(segment.CodecLZ4), LastOffsetDelta: n - 1,
		FirstTimestamp: ts, MaxTimestamp: ts + int64(n), ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1,
		NumRecords: n, Records: bytes.Repeat([]byte{byte(n), byte(ts)}, int(n)*3),
	}
	rb.Length = int32(segment.BatchHeaderSize - 12 + len(rb.Records))
	b := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// flush is one ingest object's partition A and B batches.
type flush struct{ a, b [][]byte }

// ingest uploads flushes as ingest objects and returns partition A's index
// entries as sources, with offsets given as Redis would give them.
func ingest(t *testing.T, bk bucket.Bucket, flushes ...flush) []compaction.Source {
	t.Helper()
	var srcs []compaction.Source
	var next int64
	for _, f := range flushes {
		var buf bytes.Buffer
		w := segment.NewWriter(&buf, segment.KindIngest)
		src := compaction.Source{Pos: -1, BaseOffset: next, Shared: true}
		for _, s := range []struct {
			sec     segment.Section
			batches [][]byte
		}{{secA, f.a}, {secB, f.b}} {
			for _, b := range s.batches {
				h, _ := segment.ParseBatch(b)
				pos, err := w.WriteBatch(s.sec, b, h.Meta())
				if err != nil {
					t.Fatal(err)
				}
				if s.sec == secA {
					if src.Pos < 0 {
						src.Pos = pos
					}
					src.Len += int64(len(b))
					next += int64(h.LastOffsetDelta) + 1
					src.MaxTimestamp = max(src.MaxTimestamp, h.MaxTimestamp)
				}
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		src.Object, src.LastOffset = tiering.NewIngestKey(), next-1
		if err := bk.Upload(t.Context(), src.Object, buf.Bytes()); err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, src)
	}
	return srcs
}

func download(t *testing.T, bk bucket.Bucket, key string) []byte {
	t.Helper()
	rc, err := bk.GetRange(t.Context(), key, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func sampleFlushes() []flush {
	return []flush{
		{a: [][]byte{batch(3, 100), batch(1, 110)}, b: [][]byte{batch(2, 100)}},
		{a: [][]byte{batch(2, 200)}, b: [][]byte{batch(7, 200)}},
		{a: [][]byte{batch(5, 150), batch(4, 300)}},
	}
}

// The segment holds every batch of the sources, byte for byte but for the
// base offset, which is each batch's real offset; Verify agrees, and the
// cached source bytes are left as they were.
func TestCompactRealOffsets(t *testing.T) {
	bk := bucket.NewInMem()
	flushes := sampleFlushes()
	srcs := ingest(t, bk, flushes...)
	r := tiering.NewReader(bk, 1<<20)
	seg, err := compaction.Compact(t.Context(), r, bk, secA, srcs, 1<<20)
	if err != nil {
		t.Fatalf("Compact: %v", err)
	}
	if seg.BaseOffset != 0 || seg.LastOffset != 14 || seg.Batches != 5 || seg.Records != 15 {
		t.Errorf("segment %+v, want offsets 0-14, 5 batches, 15 records", seg)
	}
	whole := compaction.Entry{Pos: seg.Pos, Len: seg.Len, BaseOffset: 0, LastOffset: 14, MaxTimestamp: 304}
	if len(seg.Entries) != 1 || seg.Entries[0] != whole {
		t.Errorf("entries %+v, want one: %+v", seg.Entries, whole)
	}
	data := download(t, bk, seg.Key)
	f, err := segment.Verify(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if f.Kind != segment.KindCompacted || len(f.Sections) != 1 || f.Sections[0].Section != secA {
		t.Fatalf("footer %+v, want one compacted section of %+v", f, secA)
	}
	if s := f.Sections[0]; s.BaseOffset != 0 || s.LastOffset != 14 || s.Pos != seg.Pos || s.Len != seg.Len || seg.Size != int64(len(data)) {
		t.Errorf("footer section %+v does not match segment %+v", s, seg)
	}
	if want := crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)); seg.CRC != want {
		t.Errorf("segment CRC %08x, the uploaded object's is %08x", seg.CRC, want)
	}
	if kt, err := tiering.KeyTime(seg.Key); err != nil || kt.IsZero() {
		t.Errorf("segment key %q: KeyTime %v, %v", seg.Key, kt, err)
	}
	var want [][]byte
	for _, f := range flushes {
		want = append(want, f.a...)
	}
	i, off := 0, int64(0)
	for b, err := range segment.Batches(data[seg.Pos : seg.Pos+seg.Len]) {
		if err != nil {
			t.Fatal(err)
		}
		if b.BaseOffset != off {
			t.Errorf("batch %d has base offset %d, want %d", i, b.BaseOffset, off)
		}
		if !bytes.Equal(b.Raw[8:], want[i][8:]) {
			t.Errorf("batch %d changed beyond its base offset", i)
		}
		off += int64(b.LastOffsetDelta) + 1
		i++
	}
	if i != len(want) || off != 15 {
		t.Errorf("walked %d batches to offset %d, want %d to 15", i, off, len(want))
	}
	cached, err := r.Read(t.Context(), srcs[1].Object, srcs[1].Pos, srcs[1].Len)
	if err != nil || !bytes.Equal(cached, flushes[1].a[0]) {
		t.Errorf("the cached source bytes changed: %v", err)
	}
}

// A compacted segment can be compacted again with newer sources.
func TestCompactAgain(t *testing.T) {
	bk := bucket.NewInMem()
	srcs := ingest(t, bk, sampleFlushes()...)
	r := tiering.NewReader(bk, 0)
	first, err := compaction.Compact(t.Context(), r, bk, secA, srcs[:2], 1)
	if err != nil {
		t.Fatal(err)
	}
	src := compaction.Source{Object: first.Key, Pos: first.Pos, Len: first.Len,
		BaseOffset: first.BaseOffset, LastOffset: first.LastOffset}
	seg, err := compaction.Compact(t.Context(), r, bk, secA, []compaction.Source{src, srcs[2]}, 1<<20)
	if err != nil {
		t.Fatalf("compacting a segment again: %v", err)
	}
	data := download(t, bk, seg.Key)
	f, err := segment.Verify(bytes.NewReader(data), int64(len(data)))
	if err != nil || f.Sections[0].BaseOffset != 0 || f.Sections[0].LastOffset != 14 {
		t.Fatalf("Verify = %+v, %v; want offsets 0-14", f, err)
	}
}

// Entries cut the segment at batch boundaries once they reach the entry
// size, each with its own batches' offsets and largest max timestamp.
func TestCompactCutsEntries(t *testing.T) {
	bk := bucket.NewInMem()
	srcs := ingest(t, bk, sampleFlushes()...)
	r := tiering.NewReader(bk, 0)
	const size = 100 // the sample batches are 67-91 bytes
	seg, err := compaction.Compact(t.Context(), r, bk, secA, srcs, size)
	if err != nil {
		t.Fatal(err)
	}
	data := download(t, bk, seg.Key)
	if len(seg.Entries) != 3 {
		t.Fatalf("%d entries %+v, want 3", len(seg.Entries), seg.Entries)
	}
	pos, off := seg.Pos, int64(0)
	for i, e := range seg.Entries {
		if e.Pos != pos || e.BaseOffset != off || (i < len(seg.Entries)-1 && e.Len < size) {
			t.Errorf("entry %d %+v does not follow at %d, offset %d, or is short", i, e, pos, off)
		}
		maxTS := int64(-1)
		for b, err := range segment.Batches(data[e.Pos : e.Pos+e.Len]) {
			if err != nil || b.BaseOffset != off {
				t.Fatalf("entry %d: batch at offset %d, want %d: %v", i, b.BaseOffset, off, err)
			}
			off += int64(b.LastOffsetDelta) + 1
			maxTS = max(maxTS, b.MaxTimestamp)
		}
		if e.LastOffset != off-1 || e.MaxTimestamp != maxTS {
			t.Errorf("entry %d %+v, its batches end at %d with max timestamp %d", i, e, off-1, maxTS)
		}
		pos += e.Len
	}
	if pos != seg.Pos+seg.Len || off != 15 {
		t.Errorf("entries end at %d, offset %d; the section at %d, offset 15", pos, off, seg.Pos+seg.Len)
	}
}

// Sources whose bytes do not hold the offsets the index gives them are
// refused, and nothing is uploaded.
func TestCompactMismatch(t *testing.T) {
	bk := bucket.NewInMem()
	srcs := ingest(t, bk, sampleFlushes()...)
	r := tiering.NewReader(bk, 0)
	tooLong, tooShort, gap, torn := clone(srcs), clone(srcs), clone(srcs), clone(srcs)
	tooLong[0].LastOffset++
	tooLong[1].BaseOffset++
	tooShort[2].LastOffset--
	gap[1].BaseOffset++
	torn[1].Len--
	for name, ss := range map[string][]compaction.Source{"too long": tooLong, "too short": tooShort, "gap": gap, "torn": torn} {
		if _, err := compaction.Compact(t.Context(), r, bk, secA, ss, 1<<20); !errors.Is(err, compaction.ErrMismatch) {
			t.Errorf("%s: Compact = %v, want ErrMismatch", name, err)
		}
	}
	if _, err := compaction.Compact(t.Context(), r, bk, secA, nil, 1<<20); !errors.Is(err, compaction.ErrNoSources) {
		t.Errorf("no sources: %v", err)
	}
	var keys []string
	_ = bk.Iter(t.Context(), tiering.SegmentsPrefix, func(k string) error { keys = append(keys, k); return nil })
	if len(keys) != 0 {
		t.Errorf("refused compactions uploaded %v", keys)
	}
}

func clone(srcs []compaction.Source) []compaction.Source {
	return append([]compaction.Source(nil), srcs...)
}

// A source object that is gone fails the compaction with ErrNotFound.
func TestCompactMissingSource(t *testing.T) {
	bk := bucket.NewInMem()
	srcs := ingest(t, bk, sampleFlushes()...)
	if err := bk.Delete(t.Context(), srcs[1].Object); err != nil {
		t.Fatal(err)
	}
	_, err := compaction.Compact(t.Context(), tiering.NewReader(bk, 0), bk, secA, srcs, 1<<20)
	if !errors.Is(err, bucket.ErrNotFound) {
		t.Fatalf("Compact = %v, want ErrNotFound", err)
	}
}

// failingUploader fails every upload, as a bucket that is down would.
type failingUploader struct{ err error }

func (f failingUploader) Upload(context.Context, string, []byte) error { return f.err }

// After a failed upload the key is returned: the object may exist.
func TestCompactUploadFails(t *testing.T) {
	bk := bucket.NewInMem()
	srcs := ingest(t, bk, sampleFlushes()...)
	boom := errors.New("boom")
	seg, err := compaction.Compact(t.Context(), tiering.NewReader(bk, 0), failingUploader{boom}, secA, srcs, 1<<20)
	if !errors.Is(err, boom) || seg.Key == "" {
		t.Fatalf("Compact = %+v, %v; want the key and the upload error", seg, err)
	}
}
