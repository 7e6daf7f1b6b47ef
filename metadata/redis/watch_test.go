package redis

import (
	"testing"
	"time"

	"github.com/sluicehq/sluice/integration/testenv"
	"github.com/sluicehq/sluice/metadata"
)

// A dropped subscription is reported with fn(nil), then re-established
// (another fn(nil)), and commits are heard again.
func TestWatchResubscribes(t *testing.T) {
	r := testenv.StartRedis(t)
	writer := openStore(t, r.URL())
	p := metadata.Partition{Topic: createTopic(t, writer, "t", 1).ID}
	w := startWatch(t, openStore(t, r.URL()))
	if _, err := writer.Commit(t.Context(), oneBatch(p, 1)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the first commit", func() bool { return lastHW(w, p) == 1 })

	if err := rawClient(t, r).ClientKillByFilter(t.Context(), "TYPE", "pubsub").Err(); err != nil {
		t.Fatalf("CLIENT KILL: %v", err)
	}
	eventually(t, "the loss and the new subscription", func() bool { n, _ := w.snapshot(); return n >= 3 })
	if _, err := writer.Commit(t.Context(), oneBatch(p, 1)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a commit after resubscribing", func() bool { return lastHW(w, p) == 2 })
}

// A quiet subscription is checked with PING and kept: no fn(nil).
func TestWatchQuietKeepsSubscription(t *testing.T) {
	r := testenv.StartRedis(t)
	writer := openStore(t, r.URL())
	p := metadata.Partition{Topic: createTopic(t, writer, "t", 1).ID}
	watcher := openStore(t, r.URL())
	watcher.pingEvery = 10 * time.Millisecond
	w := startWatch(t, watcher)
	time.Sleep(200 * time.Millisecond) // twenty PING intervals on a real server
	if _, err := writer.Commit(t.Context(), oneBatch(p, 1)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the commit", func() bool { return lastHW(w, p) == 1 })
	if n, _ := w.snapshot(); n != 1 {
		t.Fatalf("fn(nil) called %d times on a quiet subscription, want once", n)
	}
}
