package memory_test

import (
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"os"
	"path/filepath"
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
	seg := metadata.IndexEntry{BaseOffset: es[1].BaseOffset, LastOffset: es[1].LastOffset, MaxTimestamp: 5,
		Object: "segments/x", Pos: 8, Len: 10}
	seg2 := metadata.IndexEntry{BaseOffset: es[2].BaseOffset, LastOffset: es[2].LastOffset, MaxTimestamp: 5,
		Object: "segments/x", Pos: 18, Len: 10}
	if err := s.ReplaceEntries(ctx, p, es[1:3], []metadata.IndexEntry{seg, seg2}); err != nil {
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

// A log written when a compaction made exactly one entry still replays.
func TestReopenSingleReplacementLog(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	p, id := fill(t, s)
	ctx := t.Context()
	es, err := s.Index(ctx, p, 0, 10)
	if err != nil || len(es) != 2 {
		t.Fatalf("Index = %v, %v; want 2 entries", es, err)
	}
	closeStore(t, s)

	seg := metadata.IndexEntry{BaseOffset: es[0].BaseOffset, LastOffset: es[1].LastOffset, MaxTimestamp: 5,
		Object: "segments/x", Pos: 8, Len: 20}
	payload, err := json.Marshal(map[string]any{"replace_entries": map[string]any{
		"partition": p, "old": es, "replacement": seg}})
	if err != nil {
		t.Fatal(err)
	}
	rec := binary.BigEndian.AppendUint32(nil, uint32(len(payload)))
	rec = binary.BigEndian.AppendUint32(rec, crc32.Checksum(payload, crc32.MakeTable(crc32.Castagnoli)))
	f, err := os.OpenFile(filepath.Join(dir, "metadata.log"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(append(rec, payload...)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, dir)
	if got, err := s.Index(ctx, p, 0, 10); err != nil || !reflect.DeepEqual(got, []metadata.IndexEntry{seg}) {
		t.Errorf("Index after replaying a single replacement = %+v, %v; want %+v", got, err, seg)
	}
	commit(t, s, p, id, 6)
}
