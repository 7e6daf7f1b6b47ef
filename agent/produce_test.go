package agent_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/agent"
	"github.com/sluicehq/sluice/agent/agenttest"
	"github.com/sluicehq/sluice/tiering/bucket"
)

func client(t *testing.T, a *agenttest.Agent, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(a.Addr())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestProduceThenConsumeAtAckedOffsets(t *testing.T) {
	a := agenttest.Start(t, agenttest.WithConfig(func(c *agent.Config) { c.DefaultPartitions = 4 }))
	ctx := testCtx(t)
	cl := client(t, a, kgo.DefaultProduceTopic("orders"), kgo.AllowAutoTopicCreation())

	acked := map[string]*kgo.Record{}
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for i := range 2000 {
		r := &kgo.Record{Key: []byte(fmt.Sprint(i % 7)), Value: []byte(fmt.Sprint(i))}
		wg.Add(1)
		cl.Produce(ctx, r, func(r *kgo.Record, err error) {
			defer wg.Done()
			if err != nil {
				t.Errorf("produce %s: %v", r.Value, err)
			}
			mu.Lock()
			acked[string(r.Value)] = r
			mu.Unlock()
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	consumer := client(t, a, kgo.ConsumeTopics("orders"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	seen := 0
	next := map[int32]int64{}
	for seen < len(acked) {
		fs := consumer.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d: %v", seen, len(acked), err)
		}
		fs.EachError(func(_ string, p int32, err error) { t.Fatalf("partition %d: %v", p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			want := acked[string(r.Value)]
			if want == nil || want.Partition != r.Partition || want.Offset != r.Offset {
				t.Fatalf("record %s at %d/%d, acked at %+v", r.Value, r.Partition, r.Offset, want)
			}
			if r.Offset != next[r.Partition] {
				t.Fatalf("partition %d: offset %d, want %d (gap or duplicate)", r.Partition, r.Offset, next[r.Partition])
			}
			next[r.Partition]++
			seen++
		})
	}
}

// batchWith builds a valid one-record v2 batch, then lets mutate bend it.
func batchWith(value []byte, mutate func([]byte)) []byte {
	rb := kmsg.RecordBatch{
		Magic:           2,
		Attributes:      0,
		LastOffsetDelta: 0,
		FirstTimestamp:  time.Now().UnixMilli(),
		MaxTimestamp:    time.Now().UnixMilli(),
		ProducerID:      -1,
		ProducerEpoch:   -1,
		FirstSequence:   -1,
		NumRecords:      1,
	}
	rec := kmsg.Record{Value: value}
	recBytes := rec.AppendTo(nil)
	// The length varint of 0 took one byte; the real length takes more when
	// the record is large, so measure again after setting it.
	rec.Length = int32(len(recBytes) - 1)
	for {
		rb.Records = rec.AppendTo(nil)
		body := int32(len(rb.Records) - varintLen(rec.Length))
		if body == rec.Length {
			break
		}
		rec.Length = body
	}
	b := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-12))
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	if mutate != nil {
		mutate(b)
	}
	return b
}

func produceRaw(t *testing.T, cl *kgo.Client, topic string, records []byte) int16 {
	t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = -1, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = records
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Topics[0].Partitions[0].ErrorCode
}

func TestProduceRejectsBadBatches(t *testing.T) {
	a := agenttest.Start(t)
	cl := client(t, a)
	ctx := testCtx(t)
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, "bad"); err != nil {
		t.Fatal(err)
	}
	v := []byte("v")
	cases := []struct {
		name    string
		records []byte
		want    *kerr.Error
	}{
		{"valid", batchWith(v, nil), nil},
		{"wrong crc", batchWith(v, func(b []byte) { b[len(b)-1] ^= 0xff }), kerr.CorruptMessage},
		{"magic 1", batchWith(v, func(b []byte) { b[16] = 1 }), kerr.UnsupportedForMessageFormat},
		{"truncated", batchWith(v, nil)[:30], kerr.CorruptMessage},
		{"trailing garbage", append(batchWith(v, nil), 1, 2, 3), kerr.CorruptMessage},
		{"over max.message.bytes", batchWith(make([]byte, 2<<20), nil), kerr.MessageTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code := produceRaw(t, cl, "bad", c.records)
			if want := int16(0); c.want != nil {
				want = c.want.Code
				if code != want {
					t.Fatalf("code = %v, want %v", kerr.ErrorForCode(code), c.want)
				}
			} else if code != 0 {
				t.Fatalf("code = %v, want success", kerr.ErrorForCode(code))
			}
		})
	}
}

func varintLen(v int32) int {
	return len(binary.AppendVarint(nil, int64(v)))
}

// With a buffer a few requests large, producers outrun the flushes all the
// time: requests wait unread for their room, and every record is still
// acked, once and in order.
func TestProduceThroughAFullBuffer(t *testing.T) {
	a := agenttest.Start(t, agenttest.WithConfig(func(c *agent.Config) {
		c.Produce.BufferBytes, c.Produce.FlushBytes = 64<<10, 16<<10
	}))
	ctx := testCtx(t)
	cl := client(t, a, kgo.DefaultProduceTopic("full"), kgo.AllowAutoTopicCreation(),
		kgo.ProducerBatchMaxBytes(16<<10), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		last = int64(-1)
	)
	for i := range 1000 {
		wg.Add(1)
		cl.Produce(ctx, &kgo.Record{Value: make([]byte, 1000)}, func(r *kgo.Record, err error) {
			defer wg.Done()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("record %d: %v", i, err)
				return
			}
			if r.Offset != last+1 {
				t.Errorf("record %d acked at offset %d after %d", i, r.Offset, last)
			}
			last = r.Offset
		})
	}
	wg.Wait()
}

// A request larger than the whole buffer cannot have its room held; it is
// read anyway and refused, and the connection goes on.
func TestProduceLargerThanTheBufferIsRefused(t *testing.T) {
	a := agenttest.Start(t, agenttest.WithConfig(func(c *agent.Config) {
		c.Produce.BufferBytes, c.Produce.FlushBytes = 64<<10, 16<<10
	}))
	cl := client(t, a)
	if _, err := kadm.NewClient(cl).CreateTopic(testCtx(t), 1, 1, nil, "big"); err != nil {
		t.Fatal(err)
	}
	if code := produceRaw(t, cl, "big", batchWith(make([]byte, 100<<10), nil)); code != kerr.MessageTooLarge.Code {
		t.Fatalf("code = %v, want MESSAGE_TOO_LARGE", kerr.ErrorForCode(code))
	}
	if code := produceRaw(t, cl, "big", batchWith([]byte("v"), nil)); code != 0 {
		t.Fatalf("then a small batch: code = %v", kerr.ErrorForCode(code))
	}
}

// stalledBucket holds every Upload, once stalled, until released.
type stalledBucket struct {
	bucket.Bucket
	mu      sync.Mutex
	stalled chan struct{}
	waiting int // uploads that reached the stall
}

// held returns how many uploads have reached the stall.
func (b *stalledBucket) held() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.waiting
}

func (b *stalledBucket) stall() chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stalled = make(chan struct{})
	return b.stalled
}

func (b *stalledBucket) Upload(ctx context.Context, key string, data []byte) error {
	b.mu.Lock()
	stalled := b.stalled
	if stalled != nil {
		b.waiting++
	}
	b.mu.Unlock()
	if stalled != nil {
		select {
		case <-stalled:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return b.Bucket.Upload(ctx, key, data)
}

// A produce request facing a buffer that a stalled bucket keeps full waits
// unread for --reserve-wait, then its own timeout, and is answered with a
// retriable error: it is neither dropped nor left unanswered.
func TestProduceIntoAFullBufferGetsARetriableError(t *testing.T) {
	sb := &stalledBucket{Bucket: bucket.NewInMem()}
	a := agenttest.Start(t, agenttest.WithBucket(sb), agenttest.WithConfig(func(c *agent.Config) {
		c.Produce.BufferBytes, c.Produce.FlushBytes = 64<<10, 16<<10
		c.Produce.ReserveWait, c.Produce.UploadTimeout = 100*time.Millisecond, time.Minute
	}))
	cl := client(t, a)
	if _, err := kadm.NewClient(cl).CreateTopic(testCtx(t), 1, 1, nil, "stalled"); err != nil {
		t.Fatal(err)
	}
	release := sb.stall()
	first := make(chan int16, 1)
	go func() { first <- produceRaw(t, cl, "stalled", batchWith(make([]byte, 40<<10), nil)) }()

	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = -1, 200
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = "stalled"
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = batchWith(make([]byte, 40<<10), nil)
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	// The first request's flush holds 40 KiB of the 64 until the bucket
	// is released; wait until it does.
	for sb.held() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	resp, err := req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	if code := resp.Topics[0].Partitions[0].ErrorCode; code != kerr.RequestTimedOut.Code {
		t.Fatalf("produce into a full buffer: %v, want REQUEST_TIMED_OUT", kerr.ErrorForCode(code))
	}
	close(release)
	if code := <-first; code != 0 {
		t.Fatalf("the first produce, once the bucket took it: %v", kerr.ErrorForCode(code))
	}
}
