package memory_test

import (
	"reflect"
	"testing"

	"github.com/sluicehq/sluice/metadata"
)

// Compaction's and retention's changes are logged like commits: a reopened
// store has the same index, log start and time lookups.
func TestReopenAfterLifecycle(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	p, id := fill(t, s)
	commit(t, s, p, id, 6)
	commit(t, s, p, id, 9)
	ctx := t.Context()
	es, err := s.Index(ctx, p, 0, 10)
	if err != nil || len(es) != 4 {
		t.Fatalf("Index = %v, %v; want 4 entries", es, err)
	}
	seg := metadata.IndexEntry{BaseOffset: es[1].BaseOffset, LastOffset: es[2].LastOffset, MaxTimestamp: 5,
		Object: "segments/x", Pos: 8, Len: 20}
	if err := s.ReplaceEntries(ctx, p, es[1:3], seg); err != nil {
		t.Fatal(err)
	}
	if err := s.Trim(ctx, p, seg.BaseOffset); err != nil {
		t.Fatal(err)
	}
	before := snap(t, s)
	closeStore(t, s)

	s = open(t, dir)
	after := snap(t, s)
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("reopened store differs:\nbefore %+v\n after %+v", before, after)
	}
	if o := after.Offsets[1]; o.LogStart != 3 || o.HighWatermark != 12 {
		t.Errorf("reopened offsets %+v, want log start 3, high watermark 12", o)
	}
	if e, ok, err := s.OffsetForTime(ctx, p, 5); err != nil || !ok || e != seg {
		t.Errorf("OffsetForTime after reopen = %+v %v %v, want %+v", e, ok, err, seg)
	}
}
