package redis

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/integration/testenv"
	"github.com/sluicehq/sluice/metadata"
)

// A commit is one round trip however many partitions and producers it has.
func TestCommitOneRoundTrip(t *testing.T) {
	s := openStore(t, testenv.StartRedis(t).URL())
	tp := createTopic(t, s, "t", 3)
	var c metadata.Commit
	c.Object = "one-object"
	for i := range int32(3) {
		p := metadata.Partition{Topic: tp.ID, Index: i}
		c.Batches = append(c.Batches,
			metadata.CommitBatch{Partition: p, Pos: int64(i) * 20, Len: 10, Records: 2, ProducerID: 7},
			metadata.CommitBatch{Partition: p, Pos: int64(i)*20 + 10, Len: 10, Records: 1, ProducerID: metadata.NoProducer})
	}
	var rt roundTrips
	s.client.AddHook(&rt)
	if _, err := s.Commit(t.Context(), c); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if n := rt.n.Load(); n != 1 {
		t.Fatalf("Commit took %d round trips, want 1", n)
	}
}

// A server that lost its script cache (a restart, SCRIPT FLUSH) gets the
// script with EVAL.
func TestCommitAfterScriptFlush(t *testing.T) {
	r := testenv.StartRedis(t)
	s := openStore(t, r.URL())
	p := metadata.Partition{Topic: createTopic(t, s, "t", 1).ID}
	if err := rawClient(t, r).ScriptFlush(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit(t.Context(), oneBatch(p, 1)); err != nil {
		t.Fatalf("Commit after SCRIPT FLUSH: %v", err)
	}
}

// Two stores, as two agents, commit to the same partitions at once, while a
// third watches. Offsets must be given once each, and every notification
// must continue where the previous one of its partition ended.
func TestCommitAtomicAcrossStores(t *testing.T) {
	r := testenv.StartRedis(t)
	stores := []*Store{openStore(t, r.URL()), openStore(t, r.URL())}
	tp := createTopic(t, stores[0], "t", 2)
	watched := startWatch(t, openStore(t, r.URL()))
	const writers, commits = 4, 25
	var (
		mu    sync.Mutex
		bases = map[int32][]int64{}
		wg    sync.WaitGroup
	)
	for w := range 2 * writers {
		wg.Go(func() {
			got, err := commitLoop(t, stores[w%2], tp, w, commits)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			for i, bs := range got {
				bases[i] = append(bases[i], bs...)
			}
		})
	}
	wg.Wait()
	total := int64(2 * writers * commits * 3) // three records per commit per partition
	for i := range tp.Partitions {
		slices.Sort(bases[i])
		for k, b := range bases[i] {
			if b != int64(3*k) {
				t.Fatalf("partition %d: commit %d got offset %d, want %d", i, k, b, 3*k)
			}
		}
		p := metadata.Partition{Topic: tp.ID, Index: i}
		eventually(t, "every notification", func() bool { return lastHW(watched, p) == total })
		checkChained(t, watched, p)
	}
}

// commitLoop makes n commits of two batches per partition, two records from
// an idempotent producer then one from a producer that is not, and returns
// each commit's first offset per partition.
func commitLoop(t *testing.T, s *Store, tp metadata.Topic, w, n int) (map[int32][]int64, error) {
	id, _, err := s.InitProducerID(t.Context())
	if err != nil {
		return nil, err
	}
	bases := map[int32][]int64{}
	for k := range n {
		c := metadata.Commit{Object: fmt.Sprintf("w%d-%d", w, k)}
		for i := range tp.Partitions {
			p := metadata.Partition{Topic: tp.ID, Index: i}
			c.Batches = append(c.Batches,
				metadata.CommitBatch{Partition: p, Pos: int64(i) * 20, Len: 10, Records: 2, ProducerID: id, BaseSequence: int32(2 * k)},
				metadata.CommitBatch{Partition: p, Pos: int64(i)*20 + 10, Len: 10, Records: 1, ProducerID: metadata.NoProducer})
		}
		rs, err := s.Commit(t.Context(), c)
		if err != nil {
			return bases, err
		}
		for j, r := range rs {
			if r.Err != nil || r.Duplicate {
				return bases, fmt.Errorf("writer %d commit %d batch %d: %+v", w, k, j, r)
			}
			if j%2 == 0 {
				bases[int32(j/2)] = append(bases[int32(j/2)], r.BaseOffset)
			}
		}
	}
	return bases, nil
}

func lastHW(w *watchLog, p metadata.Partition) int64 {
	_, as := w.snapshot()
	var hw int64
	for _, a := range as {
		if a.Partition == p {
			hw = a.HighWatermark
		}
	}
	return hw
}

// checkChained checks that p's notifications came in commit order: each
// one's entries start at the previous high watermark and end at its own.
func checkChained(t *testing.T, w *watchLog, p metadata.Partition) {
	t.Helper()
	nils, as := w.snapshot()
	if nils != 1 {
		t.Fatalf("fn(nil) called %d times on a steady subscription, want once", nils)
	}
	var hw int64
	for _, a := range as {
		if a.Partition != p {
			continue
		}
		for _, e := range a.Entries {
			if e.BaseOffset != hw {
				t.Fatalf("notification entry %+v, want one starting at %d", e, hw)
			}
			hw = e.LastOffset + 1
		}
		if a.HighWatermark != hw {
			t.Fatalf("notification high watermark %d, want %d", a.HighWatermark, hw)
		}
	}
}

// A Redis restarted without its data has lost the store epoch: the stores
// opened before refuse to commit, so no offset is handed out twice.
func TestFencedAfterDataLoss(t *testing.T) {
	r := testenv.StartRedis(t)
	s := openStore(t, r.URL())
	p := metadata.Partition{Topic: createTopic(t, s, "t", 1).ID}
	if _, err := s.Commit(t.Context(), oneBatch(p, 3)); err != nil {
		t.Fatal(err)
	}
	r.Restart(t) // no AOF: everything is gone
	if _, err := commitAfterRestart(t, s, p); !errors.Is(err, metadata.ErrFenced) {
		t.Fatalf("Commit after data loss: err = %v, want ErrFenced", err)
	}
	// A store opened now starts a new epoch; the old one stays fenced.
	fresh := openStore(t, r.URL())
	p2 := metadata.Partition{Topic: createTopic(t, fresh, "t", 1).ID}
	if _, err := fresh.Commit(t.Context(), oneBatch(p2, 1)); err != nil {
		t.Fatalf("Commit on a store opened after the loss: %v", err)
	}
	if _, err := s.Commit(t.Context(), oneBatch(p2, 1)); !errors.Is(err, metadata.ErrFenced) {
		t.Fatalf("Commit on the old store: err = %v, want ErrFenced", err)
	}
}

// With appendfsync always a restart loses nothing and the epoch holds.
func TestRestartWithAOF(t *testing.T) {
	r := testenv.StartRedis(t, testenv.WithAOF())
	s := openStore(t, r.URL())
	p := metadata.Partition{Topic: createTopic(t, s, "t", 1).ID}
	if _, err := s.Commit(t.Context(), oneBatch(p, 3)); err != nil {
		t.Fatal(err)
	}
	r.Restart(t)
	rs, err := commitAfterRestart(t, s, p)
	if err != nil || rs[0].BaseOffset != 3 {
		t.Fatalf("Commit after restart = %+v, %v; want offset 3", rs, err)
	}
	es, err := s.Index(t.Context(), p, 0, 10)
	if err != nil || len(es) != 2 {
		t.Fatalf("Index after restart = %+v, %v; want 2 entries", es, err)
	}
}

// commitAfterRestart commits, retrying the connection errors that pooled
// connections to the old server may give once.
func commitAfterRestart(t *testing.T, s *Store, p metadata.Partition) (rs []metadata.BatchResult, err error) {
	for range 3 {
		rs, err = s.Commit(t.Context(), oneBatch(p, 1))
		if err == nil || errors.Is(err, metadata.ErrFenced) {
			break
		}
		t.Logf("commit after restart: %v", err)
	}
	return rs, err
}
