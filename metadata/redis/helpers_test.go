package redis

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sluicehq/sluice/integration/testenv"
	"github.com/sluicehq/sluice/metadata"
)

func openStore(t *testing.T, url string) *Store {
	t.Helper()
	s, err := Open(t.Context(), url)
	if err != nil {
		t.Fatalf("Open(%s): %v", url, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func rawClient(t *testing.T, r *testenv.Redis) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: r.Addr(), DisableIdentity: true})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func createTopic(t *testing.T, s *Store, name string, partitions int32) metadata.Topic {
	t.Helper()
	if err := s.CreateTopic(t.Context(), metadata.Topic{Name: name, Partitions: partitions}); err != nil {
		t.Fatalf("CreateTopic: %v", err)
	}
	tp, err := s.Topic(t.Context(), name)
	if err != nil {
		t.Fatalf("Topic: %v", err)
	}
	return tp
}

// onePartition opens a store on a fresh Redis with topic "t" of one
// partition, and a raw client to look behind it.
func onePartition(t *testing.T) (*Store, *redis.Client, metadata.Partition) {
	t.Helper()
	r := testenv.StartRedis(t)
	s := openStore(t, r.URL())
	return s, rawClient(t, r), metadata.Partition{Topic: createTopic(t, s, "t", 1).ID}
}

func oneBatch(p metadata.Partition, records int32) metadata.Commit {
	return metadata.Commit{Object: "o", Batches: []metadata.CommitBatch{
		{Partition: p, Len: 10, Records: records, ProducerID: metadata.NoProducer}}}
}

// roundTrips counts what the client sends: one per command, one per
// pipeline.
type roundTrips struct{ n atomic.Int64 }

func (c *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}

func (c *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmds)
	}
}

// watchLog records a Watch's calls: nils counts fn(nil).
type watchLog struct {
	mu   sync.Mutex
	nils int
	as   []metadata.Appended
}

func (w *watchLog) fn(as []metadata.Appended) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if as == nil {
		w.nils++
	}
	w.as = append(w.as, as...)
}

func (w *watchLog) snapshot() (int, []metadata.Appended) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.nils, append([]metadata.Appended(nil), w.as...)
}

// eventually polls cond for up to 10 s; these tests wait on a real server.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func startWatch(t *testing.T, s *Store) *watchLog {
	w := &watchLog{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Watch(ctx, w.fn)
	}()
	t.Cleanup(func() { cancel(); <-done })
	eventually(t, "the subscription", func() bool { n, _ := w.snapshot(); return n > 0 })
	return w
}
