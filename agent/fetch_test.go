package agent_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/sluicehq/sluice/agent"
	"github.com/sluicehq/sluice/agent/agenttest"
	"github.com/sluicehq/sluice/metadata"
	"github.com/sluicehq/sluice/metadata/memory"
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

// readsFromBucket keeps flushed objects out of the fetch cache, for tests of
// what fetches read from the bucket.
var readsFromBucket = agenttest.WithConfig(func(c *agent.Config) { c.CacheFlushed = false })

// TestFetchOfFlushedObjectNeedsNoGet: a consumer of the agent that flushed
// an object reads it from memory.
func TestFetchOfFlushedObjectNeedsNoGet(t *testing.T) {
	fb := &buckettest.Faulty{Bucket: bucket.NewInMem()}
	a := agenttest.Start(t, agenttest.WithBucket(fb))
	cl := client(t, a)
	if _, err := kadm.NewClient(cl).CreateTopic(testCtx(t), 1, 1, nil, "kept"); err != nil {
		t.Fatal(err)
	}
	fill(t, cl, "kept", 3, 10)
	if p := fetchRaw(t, cl, "kept", 0, 1<<20, 1<<20); p.ErrorCode != 0 || len(p.RecordBatches) == 0 {
		t.Fatalf("fetch = %v with %d bytes, want the batches", kerr.ErrorForCode(p.ErrorCode), len(p.RecordBatches))
	}
	if n := fb.Calls(bucket.OpGetRange); n != 0 {
		t.Fatalf("%d GETs to read what this agent flushed, want 0", n)
	}
}

// TestFetchRereadsIndexWhenObjectIsGone: an object deleted under a cached
// index entry (compaction replaced it) is looked up again, not reported.
func TestFetchRereadsIndexWhenObjectIsGone(t *testing.T) {
	fb := &buckettest.Faulty{Bucket: bucket.NewInMem()}
	a := agenttest.Start(t, agenttest.WithBucket(fb), readsFromBucket)
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

// fetchParts fetches partitions 0..n-1 of topic from offset 0 in one
// request.
func fetchParts(t *testing.T, cl *kgo.Client, topic string, n int, maxBytes, partMax int32) []kmsg.FetchResponseTopicPartition {
	t.Helper()
	req := kmsg.NewPtrFetchRequest()
	req.MaxWaitMillis, req.MinBytes, req.MaxBytes = 0, 1, maxBytes
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	for i := range n {
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.PartitionMaxBytes = int32(i), partMax
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Topics[0].Partitions
}

// fillParts produces batches records of size bytes to each of n partitions,
// every round in one request, so each round is one object holding every
// partition.
func fillParts(t *testing.T, cl *kgo.Client, topic string, n, batches, size int) {
	t.Helper()
	for range batches {
		var rs []*kgo.Record
		for p := range n {
			rs = append(rs, &kgo.Record{Topic: topic, Partition: int32(p), Value: make([]byte, size)})
		}
		if err := cl.ProduceSync(testCtx(t), rs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFetchReadsPartitionsOfOneObjectInOneGet: the partitions of a fetch
// whose bytes lie in one object are read with one GET, not one each.
func TestFetchReadsPartitionsOfOneObjectInOneGet(t *testing.T) {
	fb := &buckettest.Faulty{Bucket: bucket.NewInMem()}
	a := agenttest.Start(t, agenttest.WithBucket(fb), readsFromBucket)
	// Lingering puts the six batches in one produce request.
	cl := client(t, a, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(100*time.Millisecond))
	if _, err := kadm.NewClient(cl).CreateTopic(testCtx(t), 6, 1, nil, "one"); err != nil {
		t.Fatal(err)
	}
	fillParts(t, cl, "one", 6, 1, 100)
	before := fb.Calls(bucket.OpGetRange)
	for i, p := range fetchParts(t, cl, "one", 6, 1<<20, 1<<20) {
		if p.ErrorCode != 0 || len(p.RecordBatches) == 0 {
			t.Fatalf("partition %d: %v with %d bytes", i, kerr.ErrorForCode(p.ErrorCode), len(p.RecordBatches))
		}
	}
	if n := fb.Calls(bucket.OpGetRange) - before; n != 1 {
		t.Fatalf("%d GETs for six partitions of one object, want 1", n)
	}
}

// TestFetchMaxBytesAcrossPartitions: the response max-bytes is shared by
// the partitions in request order, though their bytes are read at once.
func TestFetchMaxBytesAcrossPartitions(t *testing.T) {
	a := agenttest.Start(t)
	cl := client(t, a, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(100*time.Millisecond))
	if _, err := kadm.NewClient(cl).CreateTopic(testCtx(t), 3, 1, nil, "mbp"); err != nil {
		t.Fatal(err)
	}
	fillParts(t, cl, "mbp", 3, 3, 1000)
	one := len(fetchRaw(t, cl, "mbp", 0, 1<<20, 1).RecordBatches)
	cases := []struct {
		name              string
		maxBytes, partMax int32
		want              []int // batches per partition
	}{
		{"response max of four batches", int32(4*one + 10), 1 << 20, []int{3, 1, 0}},
		{"partition max of two batches", 1 << 20, int32(2*one + 10), []int{2, 2, 2}},
		{"both", int32(5*one + 10), int32(2*one + 10), []int{2, 2, 1}},
		{"response max below one batch", 1, 1 << 20, []int{1, 0, 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for i, p := range fetchParts(t, cl, "mbp", 3, c.maxBytes, c.partMax) {
				if p.ErrorCode != 0 {
					t.Fatal(kerr.ErrorForCode(p.ErrorCode))
				}
				if got := len(p.RecordBatches) / one; got != c.want[i] || len(p.RecordBatches)%one != 0 {
					t.Fatalf("partition %d: %d bytes = %d batches of %d, want %d", i, len(p.RecordBatches), got, one, c.want[i])
				}
			}
		})
	}
}

// countingStore counts the index and offset reads an agent makes. With
// watchDelay it subscribes to commits that much later, as a Redis slow to
// answer SUBSCRIBE would.
type countingStore struct {
	agent.Store
	reads      atomic.Int32
	watchDelay time.Duration
}

func (s *countingStore) Index(ctx context.Context, p metadata.Partition, from int64, limit int) ([]metadata.IndexEntry, error) {
	s.reads.Add(1)
	return s.Store.Index(ctx, p, from, limit)
}

func (s *countingStore) Offsets(ctx context.Context, ps []metadata.Partition) ([]metadata.Offsets, error) {
	s.reads.Add(1)
	return s.Store.Offsets(ctx, ps)
}

func (s *countingStore) Watch(ctx context.Context, fn func([]metadata.Appended)) error {
	select {
	case <-time.After(s.watchDelay):
	case <-ctx.Done():
		return nil
	}
	return s.Store.(metadata.Watcher).Watch(ctx, fn)
}

// TestTailFetchAfterRestartAsksNoMetadata: an agent that starts on a log
// holding data learns the tail's index entries from commit notifications,
// so its consumers at the tail read new batches without asking metadata.
// Its subscription comes late: an agent that served before it had cached
// offsets the subscription then dropped, and its tail fetch asked metadata
// (this failed now and then under the full test run's load).
func TestTailFetchAfterRestartAsksNoMetadata(t *testing.T) {
	store, bk := memory.New(), bucket.NewInMem()
	old := agenttest.Start(t, agenttest.WithStore(store), agenttest.WithBucket(bk))
	pcl := client(t, old)
	if _, err := kadm.NewClient(pcl).CreateTopic(testCtx(t), 1, 1, nil, "restarted"); err != nil {
		t.Fatal(err)
	}
	fill(t, pcl, "restarted", 5, 10)

	cs := &countingStore{Store: store, watchDelay: 300 * time.Millisecond}
	a := agenttest.Start(t, agenttest.WithStore(cs), agenttest.WithBucket(bk))
	cl := client(t, a)
	if p := fetchRaw(t, cl, "restarted", 0, 1<<20, 1<<20); p.ErrorCode != 0 || p.HighWatermark != 5 {
		t.Fatalf("catching up: %v, high watermark %d", kerr.ErrorForCode(p.ErrorCode), p.HighWatermark)
	}
	fill(t, client(t, a), "restarted", 3, 10)
	// The notifications reach the view asynchronously; the long poll of
	// a consumer at the tail waits for them.
	req := kmsg.NewPtrFetchRequest()
	req.MaxWaitMillis, req.MinBytes, req.MaxBytes = 5000, 1, 1<<20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = "restarted"
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.FetchOffset, rp.PartitionMaxBytes = 5, 1<<20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	for {
		before := cs.reads.Load()
		resp, err := req.RequestWith(testCtx(t), cl)
		if err != nil {
			t.Fatal(err)
		}
		p := resp.Topics[0].Partitions[0]
		if p.ErrorCode != 0 {
			t.Fatal(kerr.ErrorForCode(p.ErrorCode))
		}
		if p.HighWatermark < 8 {
			continue // not every commit was announced yet
		}
		if n := cs.reads.Load() - before; n != 0 || len(p.RecordBatches) == 0 {
			t.Fatalf("fetch at the tail: %d bytes, %d metadata reads; want the new batches and none", len(p.RecordBatches), n)
		}
		return
	}
}

// TestFetchReadsAhead: after answering a fetch that stopped short of the
// high watermark, the agent reads what the consumer's next fetch wants, so
// that fetch finds its bytes cached (here: it succeeds though the next GET
// would fail).
func TestFetchReadsAhead(t *testing.T) {
	fb := &buckettest.Faulty{Bucket: bucket.NewInMem()}
	a := agenttest.Start(t, agenttest.WithBucket(fb), readsFromBucket)
	cl := client(t, a)
	if _, err := kadm.NewClient(cl).CreateTopic(testCtx(t), 1, 1, nil, "ahead"); err != nil {
		t.Fatal(err)
	}
	fill(t, cl, "ahead", 12, 1000) // one object per batch
	one := len(fetchRaw(t, cl, "ahead", 0, 1<<20, 1).RecordBatches)
	first := fetchRaw(t, cl, "ahead", 0, 1<<20, int32(3*one+10))
	if n := len(first.RecordBatches) / one; n != 3 {
		t.Fatalf("first fetch: %d batches, want 3", n)
	}
	quiet(t, fb)
	fb.FailGetRange(errors.New("the bucket is down"))
	second := fetchRaw(t, cl, "ahead", 3, 1<<20, int32(3*one+10))
	if second.ErrorCode != 0 || len(second.RecordBatches)/one != 3 {
		t.Fatalf("next fetch: %v with %d bytes, want 3 batches read ahead", kerr.ErrorForCode(second.ErrorCode), len(second.RecordBatches))
	}
}

// quiet waits until no GET has started for a while: the read-ahead is done.
func quiet(t *testing.T, fb *buckettest.Faulty) {
	t.Helper()
	last := -1
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		n := fb.Calls(bucket.OpGetRange)
		if n == last {
			return
		}
		last = n
	}
	t.Fatal("GETs did not stop")
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
	// reading all 40 objects one after another takes (reads planned ahead
	// may bring them all sooner).
	start := time.Now()
	p := fetchRaw(t, cl, "slow", 0, 1<<20, 1<<20)
	took := time.Since(start)
	got := len(p.RecordBatches) / one
	if p.ErrorCode != 0 || got == 0 || took > entries*delay/2 {
		t.Fatalf("fetch from 0: %v, %d of %d batches in %v; want some in about a second",
			kerr.ErrorForCode(p.ErrorCode), got, entries, took)
	}
	if p.HighWatermark != entries {
		t.Fatalf("high watermark %d, want %d", p.HighWatermark, entries)
	}
	if got < entries {
		if next := fetchRaw(t, cl, "slow", int64(got), 1<<20, 1<<20); len(next.RecordBatches) == 0 {
			t.Fatalf("fetch from %d returned nothing", got)
		}
	}
}
