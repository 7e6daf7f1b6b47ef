package metadatatest

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/metadata"
)

// span is the offsets a commit gave one batch.
type span struct {
	base    int64
	records int32
	object  string
}

// testConcurrentCommits has several writers, each an idempotent producer
// with its own sequences, commit to the same partitions at once. Whatever the
// interleaving, every partition's offsets must be given exactly once and its
// index must cover them without gap or overlap.
func testConcurrentCommits(t *testing.T, h harness) {
	s := h.newStore(t)
	tp := createTopic(t, s, "t", 2)
	const writers, commits = 8, 20
	var (
		mu    sync.Mutex
		spans = map[metadata.Partition][]span{}
		wg    sync.WaitGroup
	)
	for w := range writers {
		wg.Go(func() {
			got, err := commitMany(t, s, tp, w, commits)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			for p, ss := range got {
				spans[p] = append(spans[p], ss...)
			}
		})
	}
	wg.Wait()
	for i := range tp.Partitions {
		checkTiled(t, s, part(tp, i), spans[part(tp, i)], writers*commits)
	}
}

// commitMany makes n commits of two batches per partition: one from the
// writer's idempotent producer and one from a producer that is not.
func commitMany(t *testing.T, s Store, tp metadata.Topic, w, n int) (map[metadata.Partition][]span, error) {
	id, epoch, err := s.InitProducerID(t.Context())
	if err != nil {
		return nil, fmt.Errorf("InitProducerID: %w", err)
	}
	spans := map[metadata.Partition][]span{}
	seqs := map[metadata.Partition]int32{}
	for i := range n {
		b := newCommit(fmt.Sprintf("w%d-c%d", w, i))
		for j := range tp.Partitions {
			p := part(tp, j)
			b.addIdem(p, int32(1+(w+i)%4), 1, id, epoch, seqs[p]).add(p, 1, 1)
			seqs[p] += int32(1 + (w+i)%4)
		}
		rs, err := s.Commit(t.Context(), b.c)
		if err != nil {
			return spans, fmt.Errorf("writer %d commit %d: %w", w, i, err)
		}
		for k, r := range rs {
			if r.Err != nil || r.Duplicate {
				return spans, fmt.Errorf("writer %d commit %d batch %d: %+v", w, i, k, r)
			}
			x := b.c.Batches[k]
			spans[x.Partition] = append(spans[x.Partition], span{r.BaseOffset, x.Records, b.c.Object})
		}
	}
	return spans, nil
}

// checkTiled checks that the spans, and the index, cover [0, high watermark)
// exactly once, and that each index entry names the object of its offsets.
func checkTiled(t *testing.T, s Store, p metadata.Partition, spans []span, commits int) {
	t.Helper()
	slices.SortFunc(spans, func(a, b span) int { return int(a.base - b.base) })
	var next int64
	owner := map[int64]string{}
	for _, sp := range spans {
		if sp.base != next {
			t.Fatalf("partition %d: a batch was given offset %d, want %d (repeated or skipped offsets)", p.Index, sp.base, next)
		}
		owner[sp.base] = sp.object
		next += int64(sp.records)
	}
	wantHighWatermark(t, s, p, next)
	es := index(t, s, p, 0, 10*commits)
	if len(es) != commits {
		t.Errorf("partition %d: %d index entries, want one per commit, %d", p.Index, len(es), commits)
	}
	next = 0
	for _, e := range es {
		if e.BaseOffset != next || e.LastOffset < e.BaseOffset || owner[e.BaseOffset] != e.Object {
			t.Fatalf("partition %d: entry %+v, want one starting at %d in object %q", p.Index, e, next, owner[e.BaseOffset])
		}
		next = e.LastOffset + 1
	}
}
