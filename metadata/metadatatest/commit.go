package metadatatest

import (
	"testing"

	"github.com/sluicehq/sluice/metadata"
)

func testDenseOffsets(t *testing.T, h harness) {
	s := h.newStore(t)
	tp := createTopic(t, s, "t", 1)
	p := part(tp, 0)
	rs := newCommit("o1").add(p, 3, 10).add(p, 1, 10).commit(t, s)
	wantResult(t, rs, 0, 0, false, nil)
	wantResult(t, rs, 1, 3, false, nil)
	rs = newCommit("o2").add(p, 5, 10).commit(t, s)
	wantResult(t, rs, 0, 4, false, nil)
	for i, r := range rs {
		if r.LogStart != 0 {
			t.Errorf("batch %d: LogStart = %d, want 0", i, r.LogStart)
		}
	}
	wantHighWatermark(t, s, p, 9)
}

func testSeveralPartitions(t *testing.T, h harness) {
	s := h.newStore(t)
	a, b := createTopic(t, s, "a", 2), createTopic(t, s, "b", 1)
	c1 := newCommit("o1").add(part(a, 0), 2, 1).add(part(a, 0), 3, 1).add(part(a, 1), 4, 1).add(part(b, 0), 1, 1)
	rs := c1.commit(t, s)
	for i, base := range []int64{0, 2, 0, 0} {
		wantResult(t, rs, i, base, false, nil)
	}
	c2 := newCommit("o2").add(part(b, 0), 2, 1).add(part(a, 1), 1, 1)
	rs = c2.commit(t, s)
	wantResult(t, rs, 0, 1, false, nil)
	wantResult(t, rs, 1, 4, false, nil)
	os := offsets(t, s, part(a, 0), part(a, 1), part(b, 0))
	for i, hw := range []int64{5, 5, 3} {
		if os[i].HighWatermark != hw {
			t.Errorf("partition %d: high watermark %d, want %d", i, os[i].HighWatermark, hw)
		}
	}
	wantIndex(t, s, part(a, 0), 0, 10, c1.entry(0, 0, 1))
	wantIndex(t, s, part(a, 1), 0, 10, c1.entry(0, 2, 2), c2.entry(4, 1, 1))
	wantIndex(t, s, part(b, 0), 0, 10, c1.entry(0, 3, 3), c2.entry(1, 0, 0))
}

// A partition that does not exist fails its batches alone; the rest of the
// commit goes through.
func testUnknownPartition(t *testing.T, h harness) {
	s := h.newStore(t)
	tp := createTopic(t, s, "t", 1)
	ghost := metadata.Partition{Topic: newID()}
	b := newCommit("o1").add(ghost, 2, 1).add(part(tp, 0), 2, 1).add(part(tp, 1), 1, 1)
	rs := b.commit(t, s)
	wantResult(t, rs, 0, 0, false, metadata.ErrUnknownTopic)
	wantResult(t, rs, 1, 0, false, nil)
	wantResult(t, rs, 2, 0, false, metadata.ErrUnknownTopic)
	wantIndex(t, s, part(tp, 0), 0, 10, b.entry(0, 1, 1))
	wantHighWatermark(t, s, ghost, 0)
}

func testIndexCoalesces(t *testing.T, h harness) {
	s := h.newStore(t)
	tp := createTopic(t, s, "t", 2)
	p0, p1 := part(tp, 0), part(tp, 1)
	// Consecutive accepted batches of one partition become one entry whose
	// max timestamp is the largest of theirs, whatever their order.
	b := newCommit("objects/0001").add(p0, 3, 500).add(p0, 2, 900).add(p0, 1, 700).add(p1, 4, -1)
	b.commit(t, s)
	wantIndex(t, s, p0, 0, 10, b.entry(0, 0, 2))
	wantIndex(t, s, p1, 0, 10, b.entry(0, 3, 3))
	// Each commit adds its own entries: they never merge across objects.
	b2 := newCommit("objects/0002,with,commas").add(p0, 1, 100)
	b2.commit(t, s)
	wantIndex(t, s, p0, 0, 10, b.entry(0, 0, 2), b2.entry(6, 0, 0))
}

func testIndexRange(t *testing.T, h harness) {
	s := h.newStore(t)
	tp := createTopic(t, s, "t", 1)
	p := part(tp, 0)
	b1 := newCommit("o1").add(p, 5, 1)
	b2 := newCommit("o2").add(p, 1, 1)
	b3 := newCommit("o3").add(p, 4, 1)
	b1.commit(t, s)
	b2.commit(t, s)
	b3.commit(t, s)
	e1, e2, e3 := b1.entry(0, 0, 0), b2.entry(5, 0, 0), b3.entry(6, 0, 0)
	wantIndex(t, s, p, 0, 10, e1, e2, e3)
	wantIndex(t, s, p, 0, 2, e1, e2)
	wantIndex(t, s, p, 3, 10, e1, e2, e3) // from inside an entry
	wantIndex(t, s, p, 4, 1, e1)
	wantIndex(t, s, p, 5, 1, e2)
	wantIndex(t, s, p, 6, 10, e3)
	wantIndex(t, s, p, 9, 10, e3)
	wantIndex(t, s, p, 10, 10) // at the high watermark
	wantIndex(t, s, p, 1000, 10)
	wantIndex(t, s, part(tp, 7), 0, 10) // never written
}

func testOffsets(t *testing.T, h harness) {
	s := h.newStore(t)
	tp := createTopic(t, s, "t", 3)
	newCommit("o1").add(part(tp, 0), 7, 1).add(part(tp, 2), 1, 1).commit(t, s)
	ps := []metadata.Partition{part(tp, 2), part(tp, 1), part(tp, 0), {Topic: newID()}}
	os := offsets(t, s, ps...)
	for i, want := range []metadata.Offsets{{HighWatermark: 1}, {}, {HighWatermark: 7}, {}} {
		if os[i] != want {
			t.Errorf("Offsets[%d] (%v) = %+v, want %+v", i, ps[i], os[i], want)
		}
	}
	if os := offsets(t, s); len(os) != 0 {
		t.Errorf("Offsets of no partitions = %+v", os)
	}
}

func testOffsetForTime(t *testing.T, h harness) {
	s := h.newStore(t)
	tp := createTopic(t, s, "t", 1)
	p := part(tp, 0)
	var es []metadata.IndexEntry
	for i, ts := range []int64{100, 50, 300, 200, 300} {
		b := newCommit("o"+string(rune('a'+i))).add(p, 2, ts)
		b.commit(t, s)
		es = append(es, b.entry(int64(2*i), 0, 0))
	}
	cases := []struct {
		ts   int64
		want int // index into es, -1 for none
	}{{-1, 0}, {0, 0}, {100, 0}, {101, 2}, {250, 2}, {300, 2}, {301, -1}}
	for _, c := range cases {
		e, ok, err := s.OffsetForTime(t.Context(), p, c.ts)
		switch {
		case err != nil:
			t.Fatalf("OffsetForTime(%d): %v", c.ts, err)
		case c.want < 0 && ok:
			t.Errorf("OffsetForTime(%d) = %+v, want none", c.ts, e)
		case c.want >= 0 && (!ok || e != es[c.want]):
			t.Errorf("OffsetForTime(%d) = %+v %v, want %+v", c.ts, e, ok, es[c.want])
		}
	}
	if _, ok, err := s.OffsetForTime(t.Context(), part(tp, 3), 0); ok || err != nil {
		t.Errorf("OffsetForTime of a partition never written = %v, %v; want false, nil", ok, err)
	}
}
