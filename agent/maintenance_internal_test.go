package agent

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/metadata"
	"github.com/sluicehq/sluice/metadata/memory"
	"github.com/sluicehq/sluice/tiering"
	"github.com/sluicehq/sluice/tiering/bucket"
	"github.com/sluicehq/sluice/tiering/segment"
)

func testMaintainer(store *memory.Store, bk bucket.Bucket, holder string) *maintainer {
	return &maintainer{
		cfg:   MaintenanceConfig{Interval: time.Hour, CompactMinEntries: 4, SegmentBytes: 1 << 20, SegmentEntryBytes: 100},
		store: store, life: store, bucket: bk, reader: tiering.NewReader(bk, 0),
		log: slog.New(slog.NewTextHandler(io.Discard, nil)), holder: holder, now: time.Now,
	}
}

// rawBatch is a valid v2 batch of n records as a producer sends it.
func rawBatch(n int32) []byte {
	rb := kmsg.RecordBatch{Magic: 2, LastOffsetDelta: n - 1, FirstTimestamp: 1, MaxTimestamp: 2,
		ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, NumRecords: n, Records: bytes.Repeat([]byte{7}, int(n))}
	rb.Length = int32(segment.BatchHeaderSize - 12 + len(rb.Records))
	b := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// flushTo uploads an ingest object of one batch of n records for p and
// commits it, as a flush does.
func flushTo(t *testing.T, store *memory.Store, bk bucket.Bucket, tp metadata.Topic, p metadata.Partition, n int32) {
	t.Helper()
	var buf bytes.Buffer
	w := segment.NewWriter(&buf, segment.KindIngest)
	b := rawBatch(n)
	h, _ := segment.ParseBatch(b)
	pos, err := w.WriteBatch(segment.Section{Topic: tp.Name, TopicID: tp.ID, Partition: p.Index}, b, h.Meta())
	if err != nil || w.Close() != nil {
		t.Fatal(err)
	}
	key := tiering.NewIngestKey()
	if err := bk.Upload(t.Context(), key, buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	_, err = store.Commit(t.Context(), metadata.Commit{Object: key, Batches: []metadata.CommitBatch{
		{Partition: p, Pos: pos, Len: int64(len(b)), Records: n, MaxTimestamp: 2, ProducerID: metadata.NoProducer}}})
	if err != nil {
		t.Fatal(err)
	}
}

// Two agents compacting the same entries at once: one swap wins, the
// loser deletes its segment, and cleanup then deletes the ingest objects
// the winner let go of. The segment's several entries are not compacted
// again.
func TestCompactionRace(t *testing.T) {
	store, bk := memory.New(), bucket.NewInMem()
	ctx := t.Context()
	tp := metadata.Topic{Name: "raced", ID: metadata.TopicID{9}, Partitions: 1}
	if err := store.CreateTopic(ctx, tp); err != nil {
		t.Fatal(err)
	}
	p := metadata.Partition{Topic: tp.ID}
	for range 12 {
		flushTo(t, store, bk, tp, p, 3)
	}
	a, b := testMaintainer(store, bk, "a"), testMaintainer(store, bk, "b")
	es, hw, err := a.entries(ctx, p)
	if err != nil || len(es) != 12 || hw != 36 {
		t.Fatalf("entries = %d, hw %d, %v", len(es), hw, err)
	}
	var wg sync.WaitGroup
	for _, m := range []*maintainer{a, b} {
		wg.Go(func() { m.compact(ctx, tp, p, es) })
	}
	wg.Wait()
	after, _, _ := a.entries(ctx, p)
	segs := keysUnder(t, bk, tiering.SegmentsPrefix)
	if len(after) < 2 || len(segs) != 1 || after[0].BaseOffset != 0 || after[len(after)-1].LastOffset != 35 ||
		slices.ContainsFunc(after, func(e metadata.IndexEntry) bool { return e.Object != segs[0] }) {
		t.Fatalf("after the race: index %+v, segments %v; want entries 0-35 naming the one segment", after, segs)
	}
	a.compact(ctx, tp, p, after)
	if again, _, _ := a.entries(ctx, p); !slices.Equal(again, after) || len(keysUnder(t, bk, tiering.SegmentsPrefix)) != 1 {
		t.Fatalf("a segment's own entries were compacted again: index %+v", again)
	}

	a.cfg.ObjectGrace = 0
	a.now = func() time.Time { return time.Now().Add(time.Second) }
	a.cleanup(ctx)
	if left := keysUnder(t, bk, ""); len(left) != 1 || left[0] != segs[0] {
		t.Fatalf("after cleanup the bucket holds %v, want only %s", left, segs[0])
	}
	if os, _ := store.Orphans(ctx, 100); len(os) != 0 {
		t.Errorf("orphan log still holds %v", os)
	}
}

// An orphan that a commit still names (the commit timed out but landed)
// is kept and forgotten.
func TestCleanupKeepsNamedOrphan(t *testing.T) {
	store, bk := memory.New(), bucket.NewInMem()
	ctx := t.Context()
	tp := metadata.Topic{Name: "kept", ID: metadata.TopicID{8}, Partitions: 1}
	if err := store.CreateTopic(ctx, tp); err != nil {
		t.Fatal(err)
	}
	flushTo(t, store, bk, tp, metadata.Partition{Topic: tp.ID}, 1)
	key := keysUnder(t, bk, tiering.IngestPrefix)[0]
	if err := store.RecordOrphan(ctx, key); err != nil {
		t.Fatal(err)
	}
	m := testMaintainer(store, bk, "a")
	m.now = func() time.Time { return time.Now().Add(time.Second) }
	m.cleanup(ctx)
	if len(keysUnder(t, bk, key)) != 1 {
		t.Fatal("cleanup deleted an object an index entry names")
	}
	if os, _ := store.Orphans(ctx, 10); len(os) != 0 {
		t.Errorf("orphan log still holds %v", os)
	}
}

func keysUnder(t *testing.T, b bucket.Bucket, prefix string) []string {
	t.Helper()
	var ks []string
	if err := b.Iter(context.Background(), prefix, func(k string) error { ks = append(ks, k); return nil }); err != nil {
		t.Fatal(err)
	}
	return ks
}
