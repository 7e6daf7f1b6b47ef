package agent_test

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/sluicehq/sluice/agent/agenttest"
	"github.com/sluicehq/sluice/metadata"
	"github.com/sluicehq/sluice/tiering/bucket"
	"github.com/sluicehq/sluice/tiering/bucket/buckettest"
)

// fill produces n records of size bytes each into topic, one batch per
// record, and waits for them.
func fill(t *testing.T, cl *kgo.Client, topic string, n, size int) {
	t.Helper()
	for i := range n {
		r := &kgo.Record{Topic: topic, Value: make([]byte, size)}
		if err := cl.ProduceSync(testCtx(t), r).FirstErr(); err != nil {
			t.Fatalf("produce %d: %v", i, err)
		}
	}
}

func fetchRaw(t *testing.T, cl *kgo.Client, topic string, offset int64, maxBytes, partMax int32) kmsg.FetchResponseTopicPartition {
	t.Helper()
	req := kmsg.NewPtrFetchRequest()
	req.MaxWaitMillis, req.MinBytes, req.MaxBytes = 0, 1, maxBytes
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.FetchOffset, rp.PartitionMaxBytes = offset, partMax
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Topics[0].Partitions[0]
}

func TestFetchHonoursMaxBytes(t *testing.T) {
	a := agenttest.Start(t)
	cl := client(t, a)
	if _, err := kadm.NewClient(cl).CreateTopic(testCtx(t), 1, 1, nil, "mb"); err != nil {
		t.Fatal(err)
	}
	fill(t, cl, "mb", 10, 1000) // ten batches of a little over 1000 bytes
	one := len(fetchRaw(t, cl, "mb", 0, 1<<20, 1).RecordBatches)

	cases := []struct {
		name              string
		maxBytes, partMax int32
		wantBatches       int
	}{
		{"partition max below one batch still returns one (KIP-74)", 1 << 20, 1, 1},
		{"response max below one batch still returns one", 1, 1 << 20, 1},
		{"partition max of three batches", 1 << 20, int32(3*one + 10), 3},
		{"response max of two batches", int32(2*one + 10), 1 << 20, 2},
		{"room for all", 1 << 20, 1 << 20, 10},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := fetchRaw(t, cl, "mb", 0, c.maxBytes, c.partMax)
			if p.ErrorCode != 0 {
				t.Fatal(kerr.ErrorForCode(p.ErrorCode))
			}
			if got := len(p.RecordBatches) / one; got != c.wantBatches || len(p.RecordBatches)%one != 0 {
				t.Fatalf("%d bytes = %d batches of %d, want %d", len(p.RecordBatches), got, one, c.wantBatches)
			}
		})
	}
	if p := fetchRaw(t, cl, "mb", 11, 1<<20, 1<<20); p.ErrorCode != kerr.OffsetOutOfRange.Code || p.HighWatermark != 10 {
		t.Fatalf("fetch past the end = %v hw %d, want OFFSET_OUT_OF_RANGE hw 10", kerr.ErrorForCode(p.ErrorCode), p.HighWatermark)
	}
}

func TestLongPollWakesOnProduce(t *testing.T) {
	a := agenttest.Start(t)
	cl := client(t, a)
	if _, err := kadm.NewClient(cl).CreateTopic(testCtx(t), 1, 1, nil, "lp"); err != nil {
		t.Fatal(err)
	}
	req := kmsg.NewPtrFetchRequest()
	req.MaxWaitMillis, req.MinBytes, req.MaxBytes = 20_000, 1, 1<<20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = "lp"
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.PartitionMaxBytes = 1 << 20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	got := make(chan *kmsg.FetchResponse, 1)
	start := time.Now()
	go func() {
		resp, err := req.RequestWith(context.Background(), cl)
		if err != nil {
			t.Error(err)
		}
		got <- resp
	}()
	time.Sleep(200 * time.Millisecond)
	producer := client(t, a)
	fill(t, producer, "lp", 1, 10)
	resp := <-got
	if n := len(resp.Topics[0].Partitions[0].RecordBatches); n == 0 || time.Since(start) > 10*time.Second {
		t.Fatalf("long poll returned %d bytes after %s; want the produced batch well before MaxWait", n, time.Since(start))
	}
}

func TestLogAppendTime(t *testing.T) {
	a := agenttest.Start(t)
	cl := client(t, a)
	v := "LogAppendTime"
	if _, err := kadm.NewClient(cl).CreateTopic(testCtx(t), 1, 1, map[string]*string{"message.timestamp.type": &v}, "lat"); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	res := cl.ProduceSync(testCtx(t), &kgo.Record{Topic: "lat", Value: []byte("x"), Timestamp: old})
	if err := res.FirstErr(); err != nil {
		t.Fatal(err)
	}
	consumer := client(t, a, kgo.ConsumeTopics("lat"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	fs := consumer.PollFetches(testCtx(t))
	recs := fs.Records()
	if len(recs) != 1 || time.Since(recs[0].Timestamp) > time.Minute {
		t.Fatalf("records = %+v; want one stamped with the append time", recs)
	}
	if recs[0].Attrs.TimestampType() != 1 {
		t.Fatalf("timestamp type = %d, want 1 (log append time)", recs[0].Attrs.TimestampType())
	}
}

// TestOldClientVersions pins the client to the API versions of older Kafka
// releases, so every range down to the oldest v2-batch versions is served.
func TestOldClientVersions(t *testing.T) {
	a := agenttest.Start(t)
	versions := map[string]*kversion.Versions{
		"0.11": kversion.V0_11_0(), "1.0": kversion.V1_0_0(), "2.0": kversion.V2_0_0(),
		"2.4": kversion.V2_4_0(), "3.0": kversion.V3_0_0(), "latest": kversion.Stable(),
	}
	for name, v := range versions {
		t.Run(name, func(t *testing.T) {
			topic := "v" + name
			cl := client(t, a, kgo.MaxVersions(v), kgo.DefaultProduceTopic(topic), kgo.AllowAutoTopicCreation(),
				kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			for i := range 20 {
				if err := cl.ProduceSync(testCtx(t), &kgo.Record{Value: []byte(fmt.Sprint(i))}).FirstErr(); err != nil {
					t.Fatalf("produce: %v", err)
				}
			}
			var n int
			for n < 20 {
				fs := cl.PollFetches(testCtx(t))
				fs.EachError(func(_ string, _ int32, err error) { t.Fatal(err) })
				fs.EachRecord(func(r *kgo.Record) {
					if r.Offset != int64(n) || string(r.Value) != fmt.Sprint(n) {
						t.Fatalf("record %d at offset %d = %q", n, r.Offset, r.Value)
					}
					n++
				})
			}
			lo, err := kadm.NewClient(cl).ListEndOffsets(testCtx(t), topic)
			if err != nil {
				t.Fatal(err)
			}
			if o, _ := lo.Lookup(topic, 0); o.Offset != 20 {
				t.Fatalf("end offset = %+v, want 20", o)
			}
		})
	}
}

// TestFetchRereadsIndexWhenObjectIsGone: an object deleted under a cached
// index entry (compaction replaced it) is looked up again, not reported.
func TestFetchRereadsIndexWhenObjectIsGone(t *testing.T) {
	fb := &buckettest.Faulty{Bucket: bucket.NewInMem()}
	a := agenttest.Start(t, agenttest.WithBucket(fb))
	cl := client(t, a)
	if _, err := kadm.NewClient(cl).CreateTopic(testCtx(t), 1, 1, nil, "gone"); err != nil {
		t.Fatal(err)
	}
	fill(t, cl, "gone", 3, 10)
	fb.FailGetRange(bucket.ErrNotFound)
	p := fetchRaw(t, cl, "gone", 0, 1<<20, 1<<20)
	if p.ErrorCode != 0 || len(p.RecordBatches) == 0 {
		t.Fatalf("fetch = %v with %d bytes, want the batches", kerr.ErrorForCode(p.ErrorCode), len(p.RecordBatches))
	}
}

// TestRetentionMovesLogStartUnderCache: the cache does not hear of
// retention; a fetch below the new log start gets OFFSET_OUT_OF_RANGE with
// the store's log start, and ListOffsets earliest answers it too.
func TestRetentionMovesLogStartUnderCache(t *testing.T) {
	a := agenttest.Start(t)
	cl := client(t, a)
	if _, err := kadm.NewClient(cl).CreateTopic(testCtx(t), 1, 1, nil, "ret"); err != nil {
		t.Fatal(err)
	}
	fill(t, cl, "ret", 10, 10)
	if p := fetchRaw(t, cl, "ret", 0, 1<<20, 1<<20); p.ErrorCode != 0 { // caches the bounds
		t.Fatal(kerr.ErrorForCode(p.ErrorCode))
	}
	tp, err := a.Store.Topic(testCtx(t), "ret")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Store.(metadata.Lifecycle).Trim(testCtx(t), metadata.Partition{Topic: tp.ID}, 5); err != nil {
		t.Fatal(err)
	}
	p := fetchRaw(t, cl, "ret", 2, 1<<20, 1<<20)
	if p.ErrorCode != kerr.OffsetOutOfRange.Code || p.LogStartOffset != 5 {
		t.Fatalf("fetch below the new log start = %v, log start %d; want OFFSET_OUT_OF_RANGE, 5", kerr.ErrorForCode(p.ErrorCode), p.LogStartOffset)
	}
	lo, err := kadm.NewClient(cl).ListStartOffsets(testCtx(t), "ret")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := lo.Lookup("ret", 0); o.Offset != 5 {
		t.Fatalf("earliest offset = %d, want 5", o.Offset)
	}
}

// slowBucket delays every ranged read, as an S3 under load does.
type slowBucket struct {
	bucket.Bucket
	delay time.Duration
}

func (b slowBucket) GetRange(ctx context.Context, key string, off, length int64) (io.ReadCloser, error) {
	select {
	case <-time.After(b.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return b.Bucket.GetRange(ctx, key, off, length)
}

// In franz-go's suite, consumers starting at offset 0 of partitions made of
// many small objects got answers after their read timeout (MaxWait plus
// 10s) and dropped the connection: the fetch read one object after another
// until MaxBytes. It must answer with what it has once its time is up.
func TestFetchStopsReadingWhenTimeIsUp(t *testing.T) {
	const entries, delay = 40, 100 * time.Millisecond
	a := agenttest.Start(t, agenttest.WithBucket(slowBucket{bucket.NewInMem(), delay}))
	cl := client(t, a)
	if _, err := kadm.NewClient(cl).CreateTopic(testCtx(t), 1, 1, nil, "slow"); err != nil {
		t.Fatal(err)
	}
	fill(t, cl, "slow", entries, 100) // one flush, so one object, per record
	one := len(fetchRaw(t, cl, "slow", entries-1, 1<<20, 1<<20).RecordBatches)

	// MaxWait 0: the agent reads for at least a second, not the 4s that
	// reading all 40 objects takes.
	start := time.Now()
	p := fetchRaw(t, cl, "slow", 0, 1<<20, 1<<20)
	took := time.Since(start)
	got := len(p.RecordBatches) / one
	if p.ErrorCode != 0 || got == 0 || got >= entries || took > entries*delay/2 {
		t.Fatalf("fetch from 0: %v, %d of %d batches in %v; want some, not all, in about a second",
			kerr.ErrorForCode(p.ErrorCode), got, entries, took)
	}
	if p.HighWatermark != entries {
		t.Fatalf("high watermark %d, want %d", p.HighWatermark, entries)
	}
	if next := fetchRaw(t, cl, "slow", int64(got), 1<<20, 1<<20); len(next.RecordBatches) == 0 {
		t.Fatalf("fetch from %d returned nothing", got)
	}
}
