package metadatatest

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/metadata"
)

// waitTimeout bounds every wait for a notification; a store that takes
// longer is broken, not slow.
const waitTimeout = 10 * time.Second

// collector gathers notifications without blocking the watcher.
type collector struct {
	mu   sync.Mutex
	got  []metadata.Appended
	wake chan struct{}
}

func newCollector() *collector { return &collector{wake: make(chan struct{}, 1)} }

func (c *collector) fn(as []metadata.Appended) {
	if as == nil {
		return // notifications may have been lost; the checks below would say so
	}
	c.mu.Lock()
	c.got = append(c.got, as...)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// of returns the notifications for p so far.
func (c *collector) of(p metadata.Partition) []metadata.Appended {
	c.mu.Lock()
	defer c.mu.Unlock()
	var as []metadata.Appended
	for _, a := range c.got {
		if a.Partition == p {
			as = append(as, a)
		}
	}
	return as
}

// reached reports whether p was announced at high watermark hw or past it.
func (c *collector) reached(p metadata.Partition, hw int64) bool {
	as := c.of(p)
	return len(as) > 0 && as[len(as)-1].HighWatermark >= hw
}

func (c *collector) wait(t *testing.T, p metadata.Partition, hw int64) {
	t.Helper()
	deadline := time.After(waitTimeout)
	for !c.reached(p, hw) {
		select {
		case <-c.wake:
		case <-deadline:
			t.Fatalf("no notification of %v reaching %d within %v; got %+v", p, hw, waitTimeout, c.of(p))
		}
	}
}

// startWatch runs Watch until the test ends and returns its error channel.
func startWatch(t *testing.T, w metadata.Watcher, c *collector) (stop func() error) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Watch(ctx, c.fn) }()
	stop = sync.OnceValue(func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(waitTimeout):
			t.Errorf("Watch did not return within %v of its context ending", waitTimeout)
			return nil
		}
	})
	t.Cleanup(func() { _ = stop() })
	return stop
}

// awaitWatching commits to p through s until the watcher reports it: from
// then on the watch is established and must miss nothing.
func awaitWatching(t *testing.T, s Store, c *collector, p metadata.Partition) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !c.reached(p, 1) {
		if time.Now().After(deadline) {
			t.Fatalf("Watch reported no commit within %v", waitTimeout)
		}
		newCommit("ping").add(p, 1, 0).commit(t, s)
		select {
		case <-c.wake:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func testWatch(t *testing.T, h harness) {
	watching, writer := h.newPair(t)
	w, ok := watching.(metadata.Watcher)
	if !ok {
		t.Skip("the store is not a metadata.Watcher")
	}
	tp := createTopic(t, writer, "t", 3)
	c := newCollector()
	startWatch(t, w, c)
	awaitWatching(t, writer, c, part(tp, 2))

	p0, p1 := part(tp, 0), part(tp, 1)
	b1 := newCommit("o1").add(p0, 2, 7).add(p0, 1, 9).add(p1, 4, 3)
	b1.commit(t, writer)
	b2 := newCommit("o2").add(p0, 3, 8)
	b2.commit(t, writer)
	c.wait(t, p0, 6)
	c.wait(t, p1, 4)
	want := []metadata.Appended{
		{Partition: p0, HighWatermark: 3, Entries: []metadata.IndexEntry{b1.entry(0, 0, 1)}},
		{Partition: p0, HighWatermark: 6, Entries: []metadata.IndexEntry{b2.entry(3, 0, 0)}},
	}
	if got := c.of(p0); !reflect.DeepEqual(got, want) {
		t.Errorf("notifications of partition 0:\n got %+v\nwant %+v", got, want)
	}
	want = []metadata.Appended{{Partition: p1, HighWatermark: 4, Entries: []metadata.IndexEntry{b1.entry(0, 2, 2)}}}
	if got := c.of(p1); !reflect.DeepEqual(got, want) {
		t.Errorf("notifications of partition 1:\n got %+v\nwant %+v", got, want)
	}
}

func testWatchStops(t *testing.T, h harness) {
	w, ok := h.newStore(t).(metadata.Watcher)
	if !ok {
		t.Skip("the store is not a metadata.Watcher")
	}
	stop := startWatch(t, w, newCollector())
	if err := stop(); err != nil {
		t.Fatalf("Watch returned %v when its context ended, want nil", err)
	}
}
