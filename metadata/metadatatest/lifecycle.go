package metadatatest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/metadata"
)

// testLifecycle checks the optional Lifecycle capability: compaction's
// compare-and-set, retention's trim, the lookups cleanup makes and leases.
func testLifecycle(t *testing.T, h harness) {
	cases := []struct {
		name string
		fn   func(*testing.T, Store, metadata.Lifecycle)
	}{
		{"Replace", testReplace},
		{"ReplaceConflict", testReplaceConflict},
		{"ReplaceRace", testReplaceRace},
		{"ReplaceOffsetForTime", testReplaceOffsetForTime},
		{"ReplaceSplit", testReplaceSplit},
		{"Trim", testTrim},
		{"TrimAll", testTrimAll},
		{"TrimOffsetForTime", testTrimOffsetForTime},
		{"OrphansBefore", testOrphansBefore},
		{"DeleteTopicLetsGo", testDeleteTopicLetsGo},
		{"Lease", testLease},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := h.newStore(t)
			l, ok := s.(metadata.Lifecycle)
			if !ok {
				t.Skip("the store has no Lifecycle")
			}
			c.fn(t, s, l)
		})
	}
}

// singles commits one batch per object to p, with the given max
// timestamps, and returns their index entries.
func singles(t *testing.T, s Store, p metadata.Partition, prefix string, base int64, tss ...int64) []metadata.IndexEntry {
	t.Helper()
	var es []metadata.IndexEntry
	for i, ts := range tss {
		b := newCommit(fmt.Sprintf("%s%d", prefix, i)).add(p, 2, ts)
		b.commit(t, s)
		es = append(es, b.entry(base+int64(2*i), 0, 0))
	}
	return es
}

// merged is the entry a compaction of es into object would make.
func merged(object string, es ...metadata.IndexEntry) metadata.IndexEntry {
	e := metadata.IndexEntry{BaseOffset: es[0].BaseOffset, LastOffset: es[len(es)-1].LastOffset,
		MaxTimestamp: es[0].MaxTimestamp, Object: object, Pos: 8}
	for _, x := range es {
		e.MaxTimestamp = max(e.MaxTimestamp, x.MaxTimestamp)
		e.Len += x.Len
	}
	return e
}

// split is what a compaction of es into object would make when it cuts
// the segment into entries after each group of sizes entries.
func split(object string, es []metadata.IndexEntry, sizes ...int) []metadata.IndexEntry {
	var out []metadata.IndexEntry
	pos := int64(8)
	for _, n := range sizes {
		e := merged(object, es[:n]...)
		e.Pos = pos
		pos += e.Len
		out = append(out, e)
		es = es[n:]
	}
	return out
}

func replace(t *testing.T, l metadata.Lifecycle, p metadata.Partition, old []metadata.IndexEntry, r ...metadata.IndexEntry) {
	t.Helper()
	if err := l.ReplaceEntries(t.Context(), p, old, r); err != nil {
		t.Fatalf("ReplaceEntries(%s): %v", fmtEntries(old), err)
	}
}

func wantReferenced(t *testing.T, l metadata.Lifecycle, p metadata.Partition, object string, want bool) {
	t.Helper()
	got, err := l.Referenced(t.Context(), p, object)
	if err != nil || got != want {
		t.Errorf("Referenced(%s) = %v, %v; want %v", object, got, err, want)
	}
}

func wantBounds(t *testing.T, s Store, p metadata.Partition, want metadata.Offsets) {
	t.Helper()
	if got := offsets(t, s, p)[0]; got != want {
		t.Errorf("Offsets = %+v, want %+v", got, want)
	}
}

// Replacing entries keeps offsets and the other entries, and the old
// objects are no longer referenced; other partitions are untouched.
func testReplace(t *testing.T, s Store, l metadata.Lifecycle) {
	tp := createTopic(t, s, "t", 2)
	p, q := part(tp, 0), part(tp, 1)
	es := singles(t, s, p, "o", 0, 10, 20, 30, 40)
	b := newCommit("shared").add(p, 3, 50).add(q, 1, 50)
	b.commit(t, s)
	all := append(es, b.entry(8, 0, 0))
	seg := merged("segments/x,with,commas", all[1:5]...)
	replace(t, l, p, all[1:5], seg)
	wantIndex(t, s, p, 0, 10, all[0], seg)
	wantIndex(t, s, p, 5, 10, seg)
	wantIndex(t, s, q, 0, 10, b.entry(0, 1, 1))
	wantBounds(t, s, p, metadata.Offsets{HighWatermark: 11})
	wantReferenced(t, l, p, "o0", true)
	wantReferenced(t, l, p, "o1", false)
	wantReferenced(t, l, p, "shared", false)
	wantReferenced(t, l, q, "shared", true)
	wantReferenced(t, l, p, "segments/x,with,commas", true)
	wantReferenced(t, l, p, "commas", false)
	wantReferenced(t, l, metadata.Partition{Topic: newID()}, "o0", false)
	// A compacted entry can itself be compacted again.
	again := merged("segments/y", all[0], seg)
	replace(t, l, p, []metadata.IndexEntry{all[0], seg}, again)
	wantIndex(t, s, p, 0, 10, again)
	// Commits go on after it.
	rs := newCommit("next").add(p, 1, 60).commit(t, s)
	wantResult(t, rs, 0, 11, false, nil)
}

// The compare-and-set fails, changing nothing, unless every old entry is
// still there exactly.
func testReplaceConflict(t *testing.T, s Store, l metadata.Lifecycle) {
	tp := createTopic(t, s, "t", 1)
	p := part(tp, 0)
	es := singles(t, s, p, "o", 0, 1, 2, 3)
	ctx := t.Context()
	moved := slices.Clone(es[:2])
	moved[1].Pos++
	for _, old := range [][]metadata.IndexEntry{moved, {es[0], {BaseOffset: 2, LastOffset: 3, Object: "ghost", Len: 1}}} {
		if err := l.ReplaceEntries(ctx, p, old, []metadata.IndexEntry{merged("seg", old...)}); !errors.Is(err, metadata.ErrConflict) {
			t.Errorf("ReplaceEntries(%s) = %v, want ErrConflict", fmtEntries(old), err)
		}
	}
	replace(t, l, p, es[:2], merged("seg1", es[:2]...))
	if err := l.ReplaceEntries(ctx, p, es[:2], []metadata.IndexEntry{merged("seg2", es[:2]...)}); !errors.Is(err, metadata.ErrConflict) {
		t.Errorf("replacing entries already replaced = %v, want ErrConflict", err)
	}
	wantIndex(t, s, p, 0, 10, merged("seg1", es[:2]...), es[2])
	// Arguments no agent should pass are refused, and are not conflicts.
	bad := [][]metadata.IndexEntry{nil, {es[0], es[2]}}
	for _, old := range bad {
		if err := l.ReplaceEntries(ctx, p, old, []metadata.IndexEntry{{Object: "x"}}); err == nil || errors.Is(err, metadata.ErrConflict) {
			t.Errorf("ReplaceEntries(%s) = %v, want a refusal", fmtEntries(old), err)
		}
	}
	short := merged("seg3", es[2])
	short.LastOffset--
	gap := split("seg4", es, 1, 1, 1)
	gap[1].BaseOffset++
	for _, r := range [][]metadata.IndexEntry{nil, {short}, gap} {
		if err := l.ReplaceEntries(ctx, p, es[2:], r); err == nil || errors.Is(err, metadata.ErrConflict) {
			t.Errorf("ReplaceEntries with %s, not covering the same offsets = %v, want a refusal", fmtEntries(r), err)
		}
	}
	ghost := metadata.Partition{Topic: newID()}
	if err := l.ReplaceEntries(ctx, ghost, es[2:], []metadata.IndexEntry{merged("seg", es[2])}); !errors.Is(err, metadata.ErrUnknownTopic) {
		t.Errorf("ReplaceEntries on a missing partition = %v, want ErrUnknownTopic", err)
	}
	wantIndex(t, s, p, 0, 10, merged("seg1", es[:2]...), es[2])
}

// Agents compacting the same entries at once: exactly one wins.
func testReplaceRace(t *testing.T, s Store, l metadata.Lifecycle) {
	tp := createTopic(t, s, "t", 1)
	p := part(tp, 0)
	es := singles(t, s, p, "o", 0, 1, 2, 3, 4)
	const racers = 8
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins []string
	)
	for i := range racers {
		wg.Go(func() {
			seg := merged(fmt.Sprintf("seg%d", i), es...)
			err := l.ReplaceEntries(t.Context(), p, es, []metadata.IndexEntry{seg})
			if err != nil && !errors.Is(err, metadata.ErrConflict) {
				t.Errorf("racer %d: %v", i, err)
			}
			if err == nil {
				mu.Lock()
				wins = append(wins, seg.Object)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(wins) != 1 {
		t.Fatalf("%d of %d racers replaced the same entries: %v", len(wins), racers, wins)
	}
	wantIndex(t, s, p, 0, 10, merged(wins[0], es...))
}

func wantForTime(t *testing.T, s Store, p metadata.Partition, ts int64, want *metadata.IndexEntry) {
	t.Helper()
	e, ok, err := s.OffsetForTime(t.Context(), p, ts)
	switch {
	case err != nil:
		t.Fatalf("OffsetForTime(%d): %v", ts, err)
	case want == nil && ok:
		t.Errorf("OffsetForTime(%d) = %+v, want none", ts, e)
	case want != nil && (!ok || e != *want):
		t.Errorf("OffsetForTime(%d) = %+v %v, want %+v", ts, e, ok, *want)
	}
}

// OffsetForTime finds the compacted entry wherever it found one it covers.
func testReplaceOffsetForTime(t *testing.T, s Store, l metadata.Lifecycle) {
	tp := createTopic(t, s, "t", 1)
	p := part(tp, 0)
	es := singles(t, s, p, "o", 0, 100, 50, 300, 200, 60, 70, 400)
	a := merged("segA", es[1:4]...) // holds the peak at 300
	b := merged("segB", es[4:6]...) // holds no peak
	replace(t, l, p, es[1:4], a)
	replace(t, l, p, es[4:6], b)
	for _, c := range []struct {
		ts   int64
		want *metadata.IndexEntry
	}{{0, &es[0]}, {100, &es[0]}, {101, &a}, {300, &a}, {301, &es[6]}, {400, &es[6]}, {401, nil}} {
		wantForTime(t, s, p, c.ts, c.want)
	}
}

// A compaction may replace entries with several: OffsetForTime finds each
// by its own max timestamp, and the peaks after them still hold.
func testReplaceSplit(t *testing.T, s Store, l metadata.Lifecycle) {
	tp := createTopic(t, s, "t", 1)
	p := part(tp, 0)
	es := singles(t, s, p, "o", 0, 100, 90, 150, 120, 300, 250, 400, 80)
	a := split("segA", es[1:6], 1, 2, 1, 1) // 90 | 150 120 | 300 | 250
	replace(t, l, p, es[1:6], a...)
	wantIndex(t, s, p, 0, 10, append(append([]metadata.IndexEntry{es[0]}, a...), es[6:]...)...)
	for _, c := range []struct {
		ts   int64
		want *metadata.IndexEntry
	}{{0, &es[0]}, {100, &es[0]}, {101, &a[1]}, {150, &a[1]}, {151, &a[2]}, {300, &a[2]}, {301, &es[6]}, {401, nil}} {
		wantForTime(t, s, p, c.ts, c.want)
	}
	// From the first entry, with no peak before; and a split holding no
	// peak adds none.
	old := []metadata.IndexEntry{es[0], a[0], a[1]}
	b := split("segB", old, 1, 2)
	replace(t, l, p, old, b...)
	c := split("segC", es[6:], 1, 1)
	replace(t, l, p, es[6:], c...)
	for _, c := range []struct {
		ts   int64
		want *metadata.IndexEntry
	}{{0, &b[0]}, {101, &b[1]}, {151, &a[2]}, {301, &c[0]}, {401, nil}} {
		wantForTime(t, s, p, c.ts, c.want)
	}
	wantReferenced(t, l, p, "segA", true)
	wantReferenced(t, l, p, "o1", false)
	// Commits after it are found by time as before.
	next := singles(t, s, p, "n", 16, 500)
	wantForTime(t, s, p, 401, &next[0])
}

// Trim moves the log start forward to entry boundaries only, and drops
// the entries below it.
func testTrim(t *testing.T, s Store, l metadata.Lifecycle) {
	tp := createTopic(t, s, "t", 1)
	p := part(tp, 0)
	es := singles(t, s, p, "o", 0, 1, 2, 3, 4)
	ctx := t.Context()
	for _, bad := range []int64{3, 9, 100} {
		if err := l.Trim(ctx, p, bad); !errors.Is(err, metadata.ErrConflict) {
			t.Errorf("Trim(%d), not an entry boundary = %v, want ErrConflict", bad, err)
		}
	}
	if err := l.Trim(ctx, p, 4); err != nil {
		t.Fatalf("Trim(4): %v", err)
	}
	wantBounds(t, s, p, metadata.Offsets{LogStart: 4, HighWatermark: 8})
	wantIndex(t, s, p, 0, 10, es[2:]...)
	wantReferenced(t, l, p, "o1", false)
	wantReferenced(t, l, p, "o2", true)
	for _, back := range []int64{0, 2, 4} {
		if err := l.Trim(ctx, p, back); err != nil {
			t.Errorf("Trim(%d) at or below the log start = %v, want nil", back, err)
		}
	}
	wantBounds(t, s, p, metadata.Offsets{LogStart: 4, HighWatermark: 8})
	if err := l.Trim(ctx, metadata.Partition{Topic: newID()}, 0); !errors.Is(err, metadata.ErrUnknownTopic) {
		t.Errorf("Trim on a missing partition = %v, want ErrUnknownTopic", err)
	}
	// A trimmed partition still takes commits after its high watermark,
	// and its replaced entries can be trimmed too.
	rs := newCommit("next").add(p, 1, 5).commit(t, s)
	wantResult(t, rs, 0, 8, false, nil)
	seg := merged("seg", es[2:]...)
	replace(t, l, p, es[2:], seg)
	if err := l.Trim(ctx, p, 8); err != nil {
		t.Fatalf("Trim(8): %v", err)
	}
	wantIndex(t, s, p, 0, 10, index(t, s, p, 8, 1)...)
	wantReferenced(t, l, p, "seg", false)
}

// Trimming to the high watermark empties the index; the next commit
// starts there.
func testTrimAll(t *testing.T, s Store, l metadata.Lifecycle) {
	tp := createTopic(t, s, "t", 1)
	p := part(tp, 0)
	singles(t, s, p, "o", 0, 500, 600)
	if err := l.Trim(t.Context(), p, 4); err != nil {
		t.Fatalf("Trim(4): %v", err)
	}
	wantBounds(t, s, p, metadata.Offsets{LogStart: 4, HighWatermark: 4})
	wantIndex(t, s, p, 0, 10)
	wantForTime(t, s, p, 0, nil)
	// A new entry with an older timestamp than those trimmed is found by
	// time: the trimmed peaks are forgotten.
	next := singles(t, s, p, "n", 4, 100)
	wantIndex(t, s, p, 0, 10, next...)
	wantForTime(t, s, p, 50, &next[0])
	wantForTime(t, s, p, 101, nil)
}

// After a trim, OffsetForTime answers from the remaining entries only, and
// entries committed later keep it right.
func testTrimOffsetForTime(t *testing.T, s Store, l metadata.Lifecycle) {
	tp := createTopic(t, s, "t", 1)
	p := part(tp, 0)
	es := singles(t, s, p, "o", 0, 300, 50, 80, 200, 100, 400)
	if err := l.Trim(t.Context(), p, 2); err != nil {
		t.Fatalf("Trim(2): %v", err)
	}
	for _, c := range []struct {
		ts   int64
		want *metadata.IndexEntry
	}{{0, &es[1]}, {60, &es[2]}, {150, &es[3]}, {250, &es[5]}, {401, nil}} {
		wantForTime(t, s, p, c.ts, c.want)
	}
	// A surviving peak still bounds what later commits add.
	if err := l.Trim(t.Context(), p, 10); err != nil {
		t.Fatalf("Trim(10): %v", err)
	}
	next := singles(t, s, p, "n", 12, 350, 450)
	for _, c := range []struct {
		ts   int64
		want *metadata.IndexEntry
	}{{0, &es[5]}, {355, &es[5]}, {401, &next[1]}, {451, nil}} {
		wantForTime(t, s, p, c.ts, c.want)
	}
}

// OrphansBefore lists only what was recorded before the time, oldest first
// (keys recorded in the same millisecond may come in key order).
func testOrphansBefore(t *testing.T, s Store, l metadata.Lifecycle) {
	o, ok := s.(metadata.OrphanLog)
	if !ok {
		t.Fatal("a Lifecycle store must be an OrphanLog")
	}
	ctx := t.Context()
	for _, k := range []string{"ingest/a", "ingest/b", "segments/c"} {
		if err := o.RecordOrphan(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := l.OrphansBefore(ctx, time.Now().Add(-time.Hour), 10); err != nil || len(got) != 0 {
		t.Errorf("OrphansBefore an hour ago = %v, %v; want none", got, err)
	}
	later := time.Now().Add(time.Second)
	if got, _ := l.OrphansBefore(ctx, later, 10); !slices.Equal(got, []string{"ingest/a", "ingest/b", "segments/c"}) {
		t.Errorf("OrphansBefore = %v, want all three oldest first", got)
	}
	if got, _ := l.OrphansBefore(ctx, later, 2); !slices.Equal(got, []string{"ingest/a", "ingest/b"}) {
		t.Errorf("OrphansBefore(limit 2) = %v", got)
	}
	if err := o.ForgetOrphan(ctx, "ingest/b"); err != nil {
		t.Fatal(err)
	}
	if got, _ := l.OrphansBefore(ctx, later, 10); !slices.Equal(got, []string{"ingest/a", "segments/c"}) {
		t.Errorf("OrphansBefore after a forget = %v", got)
	}
}

// Deleting a topic records every object its partitions named, the ones
// it shared with another topic too, which cleanup then keeps.
func testDeleteTopicLetsGo(t *testing.T, s Store, l metadata.Lifecycle) {
	ctx := t.Context()
	gone, kept := createTopic(t, s, "gone", 2), createTopic(t, s, "kept", 1)
	newCommit("ingest/shared").add(part(gone, 0), 2, 1).add(part(kept, 0), 1, 1).commit(t, s)
	only := singles(t, s, part(gone, 1), "ingest/only", 0, 1, 2)
	replace(t, l, part(gone, 1), only, merged("segments/gone", only...))
	if err := s.DeleteTopic(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	got, err := l.OrphansBefore(ctx, time.Now().Add(time.Second), 10)
	slices.Sort(got)
	if want := []string{"ingest/shared", "segments/gone"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("orphans after deleting the topic = %v, %v; want %v", got, err, want)
	}
	wantReferenced(t, l, part(kept, 0), "ingest/shared", true)
	wantReferenced(t, l, part(gone, 0), "ingest/shared", false)
}

// A lease has one holder until it expires; the holder renews it.
func testLease(t *testing.T, _ Store, l metadata.Lifecycle) {
	ctx := t.Context()
	take := func(name, holder string, ttl time.Duration, want bool) {
		t.Helper()
		if got, err := l.Lease(ctx, name, holder, ttl); err != nil || got != want {
			t.Fatalf("Lease(%s, %s) = %v, %v; want %v", name, holder, got, err, want)
		}
	}
	take("p", "a", time.Hour, true)
	take("p", "b", time.Hour, false)
	take("p", "a", time.Hour, true)
	take("q", "b", time.Hour, true)
	take("short", "a", 50*time.Millisecond, true)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		ok, err := l.Lease(ctx, "short", "b", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("an expired lease was never given to another holder")
		}
	}
	take("short", "a", time.Hour, false)
}
