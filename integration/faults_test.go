package integration

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/agent"
	"github.com/sluicehq/sluice/agent/agenttest"
	"github.com/sluicehq/sluice/integration/testenv"
	"github.com/sluicehq/sluice/metadata"
	"github.com/sluicehq/sluice/metadata/redis"
	"github.com/sluicehq/sluice/tiering"
	"github.com/sluicehq/sluice/tiering/bucket/buckettest"
)

// faultyStore wraps the real Redis store to fail the next commit: before it
// reaches Redis, or after Redis applied it (a timeout whose commit landed).
type faultyStore struct {
	agent.Store
	mu          sync.Mutex
	failBefore  error
	failAfter   error
	commitCalls int
}

func (s *faultyStore) Commit(ctx context.Context, c metadata.Commit) ([]metadata.BatchResult, error) {
	s.mu.Lock()
	before, after := s.failBefore, s.failAfter
	s.failBefore, s.failAfter = nil, nil
	s.commitCalls++
	s.mu.Unlock()
	if before != nil {
		return nil, before
	}
	res, err := s.Store.Commit(ctx, c)
	if err == nil && after != nil {
		return nil, after
	}
	return res, err
}

// Watch passes notifications through so the agent's read cache stays live.
func (s *faultyStore) Watch(ctx context.Context, fn func([]metadata.Appended)) error {
	return s.Store.(metadata.Watcher).Watch(ctx, fn)
}

// The orphan log passes through so the agent records orphans in Redis.
func (s *faultyStore) RecordOrphan(ctx context.Context, key string) error {
	return s.Store.(metadata.OrphanLog).RecordOrphan(ctx, key)
}

func (s *faultyStore) Orphans(ctx context.Context, limit int) ([]string, error) {
	return s.Store.(metadata.OrphanLog).Orphans(ctx, limit)
}

func (s *faultyStore) ForgetOrphan(ctx context.Context, key string) error {
	return s.Store.(metadata.OrphanLog).ForgetOrphan(ctx, key)
}

// orphans lists what the agent recorded for cleanup.
func (s *faultyStore) orphans(t *testing.T) []string {
	t.Helper()
	keys, err := s.Store.(metadata.OrphanLog).Orphans(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func (s *faultyStore) arm(before, after error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failBefore, s.failAfter = before, after
}

type faultRig struct {
	agent  *agenttest.Agent
	store  *faultyStore
	bucket *buckettest.Faulty
	cl     *kgo.Client
	pid    int64
	epoch  int16
}

func newFaultRig(t *testing.T) *faultRig {
	t.Helper()
	ctx := context.Background()
	rd := testenv.StartRedis(t)
	s3 := testenv.StartS3(t)
	b, err := tiering.OpenBucket(ctx, s3.URL())
	if err != nil {
		t.Fatal(err)
	}
	rs, err := redis.Open(ctx, rd.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rs.Close() })
	r := &faultRig{store: &faultyStore{Store: rs}, bucket: &buckettest.Faulty{Bucket: b}}
	r.agent = agenttest.Start(t, agenttest.WithStore(r.store), agenttest.WithBucket(r.bucket))
	r.cl, err = kgo.NewClient(kgo.SeedBrokers(r.agent.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.cl.Close)
	createTopic(ctx, t, r.agent.Addr(), "faults", 1)
	resp, err := kmsg.NewPtrInitProducerIDRequest().RequestWith(ctx, r.cl)
	if err != nil || resp.ErrorCode != 0 {
		t.Fatalf("InitProducerID: %v %v", err, resp)
	}
	r.pid, r.epoch = resp.ProducerID, resp.ProducerEpoch
	return r
}

// produce sends one idempotent batch with sequence seq and returns the
// partition's answer.
func (r *faultRig) produce(t *testing.T, seq int32) kmsg.ProduceResponseTopicPartition {
	t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = -1, 10_000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = "faults"
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = idempotentBatch(r.pid, r.epoch, seq)
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(context.Background(), r.cl)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Topics[0].Partitions[0]
}

func (r *faultRig) highWatermark(t *testing.T) int64 {
	t.Helper()
	req := kmsg.NewPtrListOffsetsRequest()
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = "faults"
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Timestamp = -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(context.Background(), r.cl)
	if err != nil || resp.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("ListOffsets: %v %+v", err, resp)
	}
	return resp.Topics[0].Partitions[0].Offset
}

// expectRetriable checks a failed produce told the client to retry and
// made nothing visible.
func (r *faultRig) expectRetriable(t *testing.T, p kmsg.ProduceResponseTopicPartition, hw int64) {
	t.Helper()
	err := kerr.ErrorForCode(p.ErrorCode)
	if err == nil || !kerr.IsRetriable(err) {
		t.Fatalf("produce error = %v, want a retriable error", err)
	}
	if got := r.highWatermark(t); got != hw {
		t.Fatalf("high watermark = %d after a failed produce, want %d (half-visible)", got, hw)
	}
}

func TestFaultFailedPut(t *testing.T) {
	r := newFaultRig(t)
	if p := r.produce(t, 0); p.ErrorCode != 0 || p.BaseOffset != 0 {
		t.Fatalf("first produce = %+v", p)
	}
	r.bucket.FailUploadAfterWrite(errors.New("injected: S3 reply lost"))
	r.expectRetriable(t, r.produce(t, 1), 1)
	if got := r.store.orphans(t); len(got) != 1 {
		t.Fatalf("orphans recorded = %v, want the one uncommitted object", got)
	}
	if p := r.produce(t, 1); p.ErrorCode != 0 || p.BaseOffset != 1 {
		t.Fatalf("retry = %+v, want offset 1", p)
	}
	readAll(t, r.agent.Addr(), 2)
}

func TestFaultFailedCommit(t *testing.T) {
	r := newFaultRig(t)
	r.store.arm(errors.New("injected: redis connection refused"), nil)
	r.expectRetriable(t, r.produce(t, 0), 0)
	if got := r.store.orphans(t); len(got) != 1 {
		t.Fatalf("orphans recorded = %v, want the one uncommitted object", got)
	}
	if p := r.produce(t, 0); p.ErrorCode != 0 || p.BaseOffset != 0 {
		t.Fatalf("retry = %+v, want offset 0", p)
	}
	readAll(t, r.agent.Addr(), 1)
}

// TestFaultCommitTimedOutButLanded is the ambiguous case: Redis applied the
// commit but the agent saw a timeout. The producer retries the same
// sequence and must get the original offset, with nothing written twice.
func TestFaultCommitTimedOutButLanded(t *testing.T) {
	r := newFaultRig(t)
	r.store.arm(nil, context.DeadlineExceeded)
	r.expectRetriable(t, r.produce(t, 0), 1) // landed: offset 0 is visible
	p := r.produce(t, 0)
	if p.ErrorCode != 0 || p.BaseOffset != 0 {
		t.Fatalf("retry = %+v, want the original offset 0", p)
	}
	if hw := r.highWatermark(t); hw != 1 {
		t.Fatalf("high watermark = %d, want 1: the retry was written twice", hw)
	}
	readAll(t, r.agent.Addr(), 1)
}

// readAll consumes "faults" from the start and checks it holds exactly n
// records at offsets 0..n-1.
func readAll(t *testing.T, seeds string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds), kgo.ConsumeTopics("faults"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var got []int64
	for len(got) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d records, want %d", len(got), n)
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, r.Offset) })
	}
	for i, off := range got {
		if off != int64(i) {
			t.Fatalf("offsets %v, want 0..%d", got, n-1)
		}
	}
}
