package metadatatest

import (
	"math"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/metadata"
)

const pid = 4242 // an idempotent producer's id; stores need not have issued it

// Kafka 3.x: a producer unknown to the partition must start at sequence 0.
func testFirstSequence(t *testing.T, h harness) {
	s := h.newStore(t)
	p := part(createTopic(t, s, "t", 1), 0)
	rs := newCommit("o1").addIdem(p, 2, 1, pid, 0, 5).commit(t, s)
	wantResult(t, rs, 0, 0, false, metadata.ErrOutOfOrderSequence)
	wantHighWatermark(t, s, p, 0)
	wantIndex(t, s, p, 0, 10)
	rs = newCommit("o2").addIdem(p, 2, 1, pid, 0, 0).addIdem(p, 3, 1, pid, 0, 2).commit(t, s)
	wantResult(t, rs, 0, 0, false, nil)
	wantResult(t, rs, 1, 2, false, nil)
	// Batches from producers that are not idempotent are never checked.
	rs = newCommit("o3").add(p, 1, 1).addIdem(p, 1, 1, metadata.NoProducer, 7, 99).commit(t, s)
	wantResult(t, rs, 0, 5, false, nil)
	wantResult(t, rs, 1, 6, false, nil)
}

func testSequenceGap(t *testing.T, h harness) {
	s := h.newStore(t)
	p := part(createTopic(t, s, "t", 1), 0)
	newCommit("o1").addIdem(p, 3, 1, pid, 0, 0).commit(t, s) // sequences 0-2
	b := newCommit("o2").addIdem(p, 1, 1, pid, 0, 4).add(p, 1, 1).addIdem(p, 2, 1, pid, 0, 1).
		addIdem(p, 1, 1, pid, 0, 3)
	rs := b.commit(t, s)
	wantResult(t, rs, 0, 0, false, metadata.ErrOutOfOrderSequence) // gap
	wantResult(t, rs, 1, 3, false, nil)
	wantResult(t, rs, 2, 0, false, metadata.ErrOutOfOrderSequence) // overlaps, not a duplicate
	wantResult(t, rs, 3, 4, false, nil)
	wantHighWatermark(t, s, p, 5)
}

// The last 5 batches per producer and partition are remembered: a retry of
// one of them gets its first offset back and takes no new ones; an older
// retry is out of order, as in Kafka.
func testDuplicates(t *testing.T, h harness) {
	s := h.newStore(t)
	p := part(createTopic(t, s, "t", 1), 0)
	var seq int32
	var bases []int64
	for i := range 6 {
		n := int32(i + 1)
		rs := newCommit("o").addIdem(p, n, 1, pid, 0, seq).commit(t, s)
		wantResult(t, rs, 0, int64(seq), false, nil)
		bases = append(bases, rs[0].BaseOffset)
		seq += n
	}
	before := index(t, s, p, 0, 100)
	retry := newCommit("retry")
	seq = 0
	for i := range 6 {
		retry.addIdem(p, int32(i+1), 1, pid, 0, seq)
		seq += int32(i + 1)
	}
	rs := retry.commit(t, s)
	wantResult(t, rs, 0, 0, false, metadata.ErrOutOfOrderSequence)
	for i := 1; i < 6; i++ {
		wantResult(t, rs, i, bases[i], true, nil)
	}
	wantHighWatermark(t, s, p, int64(seq))
	wantIndex(t, s, p, 0, 100, before...)
	rs = newCommit("next").addIdem(p, 1, 1, pid, 0, seq).commit(t, s)
	wantResult(t, rs, 0, int64(seq), false, nil)
}

func testDuplicateInOneCommit(t *testing.T, h harness) {
	s := h.newStore(t)
	p := part(createTopic(t, s, "t", 1), 0)
	b := newCommit("o1").addIdem(p, 2, 1, pid, 0, 0).addIdem(p, 2, 1, pid, 0, 0).addIdem(p, 1, 1, pid, 0, 2)
	rs := b.commit(t, s)
	wantResult(t, rs, 0, 0, false, nil)
	wantResult(t, rs, 1, 0, true, nil)
	wantResult(t, rs, 2, 2, false, nil)
	wantIndex(t, s, p, 0, 10, b.entry(0, 0, 0), b.entry(2, 2, 2))
}

// A duplicate's bytes are not indexed, so the accepted batches around it
// are two runs, not one.
func testDuplicateBreaksRun(t *testing.T, h harness) {
	s := h.newStore(t)
	p := part(createTopic(t, s, "t", 1), 0)
	newCommit("o1").addIdem(p, 2, 1, pid, 0, 0).commit(t, s)
	b := newCommit("o2").add(p, 1, 5).addIdem(p, 2, 9, pid, 0, 0).add(p, 3, 6).addIdem(p, 1, 8, pid, 0, 2)
	rs := b.commit(t, s)
	wantResult(t, rs, 0, 2, false, nil)
	wantResult(t, rs, 1, 0, true, nil)
	wantResult(t, rs, 2, 3, false, nil)
	wantResult(t, rs, 3, 6, false, nil)
	wantIndex(t, s, p, 2, 10, b.entry(2, 0, 0), b.entry(3, 2, 3))
}

func testRejectedBreaksRun(t *testing.T, h harness) {
	s := h.newStore(t)
	p := part(createTopic(t, s, "t", 1), 0)
	b := newCommit("o1").add(p, 1, 5).addIdem(p, 2, 9, pid, 0, 3).add(p, 3, 6)
	rs := b.commit(t, s)
	wantResult(t, rs, 0, 0, false, nil)
	wantResult(t, rs, 1, 0, false, metadata.ErrOutOfOrderSequence)
	wantResult(t, rs, 2, 1, false, nil)
	wantIndex(t, s, p, 0, 10, b.entry(0, 0, 0), b.entry(1, 2, 2))
}

// Sequences wrap from math.MaxInt32 to 0, as Kafka's do.
func testSequenceWraps(t *testing.T, h harness) {
	s := h.newStore(t)
	p := part(createTopic(t, s, "t", 2), 0)
	const maxSeq = math.MaxInt32
	// One batch ending just before the top, one batch ending at it, one
	// starting again at 0.
	rs := newCommit("o1").addIdem(p, maxSeq, 1, pid, 0, 0).addIdem(p, 1, 1, pid, 0, maxSeq).
		addIdem(p, 2, 1, pid, 0, 0).commit(t, s)
	wantResult(t, rs, 0, 0, false, nil)
	wantResult(t, rs, 1, maxSeq, false, nil)
	wantResult(t, rs, 2, maxSeq+1, false, nil)
	// A batch that straddles the top: sequences maxSeq-1 .. 1.
	q := part(createTopic(t, s, "u", 1), 0)
	rs = newCommit("o2").addIdem(q, maxSeq-1, 1, pid, 0, 0).addIdem(q, 4, 1, pid, 0, maxSeq-1).
		addIdem(q, 4, 1, pid, 0, maxSeq-1).addIdem(q, 1, 1, pid, 0, 0).addIdem(q, 1, 1, pid, 0, 2).commit(t, s)
	wantResult(t, rs, 0, 0, false, nil)
	wantResult(t, rs, 1, maxSeq-1, false, nil)
	wantResult(t, rs, 2, maxSeq-1, true, nil)
	wantResult(t, rs, 3, 0, false, metadata.ErrOutOfOrderSequence)
	wantResult(t, rs, 4, maxSeq+3, false, nil)
}

func testProducerEpochs(t *testing.T, h harness) {
	s := h.newStore(t)
	p := part(createTopic(t, s, "t", 1), 0)
	newCommit("o1").addIdem(p, 2, 1, pid, 1, 0).commit(t, s)
	rs := newCommit("o2").addIdem(p, 1, 1, pid, 0, 2).addIdem(p, 1, 1, pid, 0, 0).
		addIdem(p, 1, 1, pid, 2, 2).commit(t, s)
	wantResult(t, rs, 0, 0, false, metadata.ErrInvalidProducerEpoch)
	wantResult(t, rs, 1, 0, false, metadata.ErrInvalidProducerEpoch)
	wantResult(t, rs, 2, 0, false, metadata.ErrOutOfOrderSequence) // a new epoch starts at 0
	wantHighWatermark(t, s, p, 2)
	// A new epoch resets the sequences; the old epoch is fenced, even for
	// what would have been a duplicate.
	rs = newCommit("o3").addIdem(p, 3, 1, pid, 2, 0).addIdem(p, 2, 1, pid, 1, 0).
		addIdem(p, 3, 1, pid, 2, 0).addIdem(p, 1, 1, pid, 2, 3).addIdem(p, 2, 1, pid, 2, 0).commit(t, s)
	wantResult(t, rs, 0, 2, false, nil)
	wantResult(t, rs, 1, 0, false, metadata.ErrInvalidProducerEpoch)
	wantResult(t, rs, 2, 2, true, nil)
	wantResult(t, rs, 3, 5, false, nil)
	// Sequences 0-1 were epoch 1's batch: in epoch 2 they are no duplicate.
	wantResult(t, rs, 4, 0, false, metadata.ErrOutOfOrderSequence)
	// The epoch may jump by more than one.
	rs = newCommit("o4").addIdem(p, 1, 1, pid, 9, 0).commit(t, s)
	wantResult(t, rs, 0, 6, false, nil)
}

// Sequences are kept per (producer, partition): each partition starts at 0.
func testSequencesPerPartition(t *testing.T, h harness) {
	s := h.newStore(t)
	tp := createTopic(t, s, "t", 2)
	p0, p1 := part(tp, 0), part(tp, 1)
	rs := newCommit("o1").addIdem(p0, 2, 1, pid, 0, 0).addIdem(p1, 3, 1, pid, 0, 0).
		addIdem(p1, 1, 1, pid+1, 0, 0).commit(t, s)
	for i := range rs {
		wantResult(t, rs, i, []int64{0, 0, 3}[i], false, nil)
	}
	rs = newCommit("o2").addIdem(p0, 1, 1, pid, 0, 2).addIdem(p1, 1, 1, pid, 0, 3).
		addIdem(p1, 1, 1, pid+1, 0, 1).commit(t, s)
	for i := range rs {
		wantResult(t, rs, i, []int64{2, 4, 5}[i], false, nil)
	}
}

func testInitProducerID(t *testing.T, h harness) {
	s := h.newStore(t)
	const n = 64
	ids := make(chan int64, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			id, epoch, err := s.InitProducerID(t.Context())
			if err != nil || epoch != 0 || id < 0 {
				t.Errorf("InitProducerID = %d, %d, %v; want a non-negative id, epoch 0", id, epoch, err)
			}
			ids <- id
		})
	}
	wg.Wait()
	close(ids)
	seen := map[int64]bool{}
	for id := range ids {
		if seen[id] {
			t.Fatalf("InitProducerID gave %d twice", id)
		}
		seen[id] = true
	}
}
