package memory

import (
	"context"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/metadata"
)

// A watcher that falls too far behind loses notifications and is told so
// with fn(nil), instead of growing the store's memory.
func TestWatchOverflow(t *testing.T) {
	s := New()
	if err := s.CreateTopic(t.Context(), metadata.Topic{Name: "t", Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	tp, _ := s.Topic(t.Context(), "t")
	p := metadata.Partition{Topic: tp.ID}
	commit := func() {
		_, err := s.Commit(t.Context(), metadata.Commit{Object: "o", Batches: []metadata.CommitBatch{
			{Partition: p, Len: 1, Records: 1, ProducerID: metadata.NoProducer}}})
		if err != nil {
			t.Fatal(err)
		}
	}

	var (
		mu      sync.Mutex
		calls   []int64                  // high watermarks; -1 for nil
		started = make(chan struct{}, 1) // buffered: the send below must not be lost
		stalled = make(chan struct{}, 1)
		release = make(chan struct{})
		caught  = make(chan struct{})
	)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		_ = s.Watch(ctx, func(as []metadata.Appended) {
			if as == nil {
				mu.Lock()
				calls = append(calls, -1)
				mu.Unlock()
				select {
				case started <- struct{}{}:
				default:
				}
				return
			}
			select {
			case stalled <- struct{}{}:
			default:
			}
			<-release // the watcher stalls on its first notification
			mu.Lock()
			calls = append(calls, as[0].HighWatermark)
			mu.Unlock()
			if as[0].HighWatermark == maxQueued+2 {
				close(caught)
			}
		})
	}()
	<-started
	commit() // taken by the watcher, which then stalls
	<-stalled
	for range maxQueued + 1 {
		commit()
	}
	close(release)
	<-caught
	mu.Lock()
	defer mu.Unlock()
	// nil once registered, the first commit, nil for the overflow, then
	// the last commit, queued after the overflow.
	if want := []int64{-1, 1, -1, maxQueued + 2}; len(calls) != len(want) || calls[2] != -1 || calls[3] != want[3] {
		t.Fatalf("calls = %v (%d), want %v", calls[:min(len(calls), 5)], len(calls), want)
	}
}
