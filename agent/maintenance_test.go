package agent_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/agent"
	"github.com/sluicehq/sluice/agent/agenttest"
	"github.com/sluicehq/sluice/metadata"
	"github.com/sluicehq/sluice/metadata/memory"
	"github.com/sluicehq/sluice/tiering"
	"github.com/sluicehq/sluice/tiering/bucket"
	"github.com/sluicehq/sluice/tiering/segment"
)

// fastMaintenance runs maintenance every few milliseconds on data of any
// older than 10ms (100ms for a lone ingest entry), with a short grace
// period, and cuts segments into entries of 1 KiB.
func fastMaintenance(c *agent.Config) {
	c.Maintenance.Interval = 20 * time.Millisecond
	c.Maintenance.CompactMinEntries = 4
	c.Maintenance.CompactMinAge = 10 * time.Millisecond
	c.Maintenance.SegmentEntryBytes = 1 << 10
	c.Maintenance.ObjectGrace = 100 * time.Millisecond
}

// eventually polls cond for up to 20 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func keys(t *testing.T, b bucket.Bucket, prefix string) []string {
	t.Helper()
	var ks []string
	if err := b.Iter(context.Background(), prefix, func(k string) error { ks = append(ks, k); return nil }); err != nil {
		t.Fatal(err)
	}
	return ks
}

func indexOf(t *testing.T, s agent.Store, p metadata.Partition) []metadata.IndexEntry {
	t.Helper()
	es, err := s.Index(context.Background(), p, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// Many small flushes over two partitions are compacted into segments
// holding their real offsets; every record still reads back at the offset
// it was acked at; the ingest objects are deleted once both partitions let
// go of them; retention then moves the log start and cleanup deletes the
// segments; and an orphan is deleted after its grace period.
func TestMaintenance(t *testing.T) {
	store, bk := memory.New(), bucket.NewInMem()
	a := agenttest.Start(t, agenttest.WithStore(store), agenttest.WithBucket(bk), agenttest.WithConfig(fastMaintenance))
	ctx := testCtx(t)
	cl := client(t, a, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, "tended"); err != nil {
		t.Fatal(err)
	}
	tp, err := store.Topic(ctx, "tended")
	if err != nil {
		t.Fatal(err)
	}
	// Each round is one flush, most often holding both partitions.
	acked := map[uint64]*kgo.Record{}
	for i := range uint64(40) {
		var rs []*kgo.Record
		for p := range int32(2) {
			rs = append(rs, &kgo.Record{Topic: "tended", Partition: p, Value: binary.BigEndian.AppendUint64(nil, 2*i+uint64(p))})
			acked[2*i+uint64(p)] = rs[p]
		}
		if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	parts := []metadata.Partition{{Topic: tp.ID, Index: 0}, {Topic: tp.ID, Index: 1}}
	// Segments double as they merge, so a few of them and fewer than
	// CompactMinEntries fresher entries remain.
	eventually(t, "compaction", func() bool {
		return len(indexOf(t, store, parts[0])) <= 10 && len(indexOf(t, store, parts[1])) <= 10
	})
	eventually(t, "ingest objects deleted", func() bool { return len(keys(t, bk, tiering.IngestPrefix)) == 0 })
	for _, seg := range keys(t, bk, tiering.SegmentsPrefix) {
		checkSegment(t, bk, seg)
	}
	consumeAll(t, a, acked)

	// Retention of 1ms lets everything go: the log start reaches the high
	// watermark and the segments are deleted.
	if _, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "retention.ms", Value: kadm.StringPtr("1")}}, "tended"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "retention", func() bool {
		os, err := store.Offsets(ctx, parts)
		return err == nil && os[0].LogStart == 40 && os[1].LogStart == 40
	})
	eventually(t, "segments deleted", func() bool { return len(keys(t, bk, tiering.SegmentsPrefix)) == 0 })

	// An orphan is deleted after its grace period, unless an entry names it.
	orphan := tiering.NewIngestKey()
	if err := bk.Upload(ctx, orphan, ingestObject(t, tp)); err != nil {
		t.Fatal(err)
	}
	if err := store.RecordOrphan(ctx, orphan); err != nil {
		t.Fatal(err)
	}
	eventually(t, "orphan deleted", func() bool { return len(keys(t, bk, orphan)) == 0 })
	eventually(t, "orphan forgotten", func() bool { os, _ := store.Orphans(ctx, 10); return len(os) == 0 })
}

// checkSegment verifies a compacted segment and that its batches carry
// consecutive offsets.
func checkSegment(t *testing.T, bk bucket.Bucket, key string) {
	t.Helper()
	rc, err := bk.GetRange(context.Background(), key, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(rc)
	rc.Close()
	f, err := segment.Verify(bytes.NewReader(data), int64(len(data)))
	if err != nil || f.Kind != segment.KindCompacted || len(f.Sections) != 1 {
		t.Fatalf("segment %s: %+v, %v", key, f, err)
	}
	s := f.Sections[0]
	if !strings.Contains(key, "/") || s.LastOffset-s.BaseOffset+1 != s.Records {
		t.Errorf("segment %s holds offsets %d-%d for %d records", key, s.BaseOffset, s.LastOffset, s.Records)
	}
}

// consumeAll reads both partitions from the start and checks every record
// is at its acked offset.
func consumeAll(t *testing.T, a *agenttest.Agent, acked map[uint64]*kgo.Record) {
	t.Helper()
	cl := client(t, a, kgo.ConsumeTopics("tended"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx := testCtx(t)
	for seen := 0; seen < len(acked); {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("fetching after compaction, %d of %d read: %v", seen, len(acked), err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			want := acked[binary.BigEndian.Uint64(r.Value)]
			if want.Partition != r.Partition || want.Offset != r.Offset {
				t.Fatalf("record acked at %d/%d read at %d/%d", want.Partition, want.Offset, r.Partition, r.Offset)
			}
			seen++
		})
	}
}

// ingestObject is a small valid ingest object with one section of tp.
func ingestObject(t *testing.T, tp metadata.Topic) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := segment.NewWriter(&buf, segment.KindIngest)
	b := batchWith([]byte("orphan"), nil)
	h, err := segment.ParseBatch(b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteBatch(segment.Section{Topic: tp.Name, TopicID: tp.ID, Partition: 0}, b, h.Meta()); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
