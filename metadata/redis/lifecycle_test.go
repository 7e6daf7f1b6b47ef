package redis

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sluicehq/sluice/metadata"
)

// The refs hash counts, per object, the entries naming it through commits
// (two entries of one object when a refused batch splits its run),
// replacements and trims, and is dropped with its topic.
func TestRefsFollowTheIndex(t *testing.T) {
	s, raw, p := onePartition(t)
	ctx := t.Context()
	wantRefs := func(want map[string]string) {
		t.Helper()
		got, err := raw.HGetAll(ctx, refsKey(p)).Result()
		if err != nil || !maps.Equal(got, want) {
			t.Fatalf("refs = %v, %v; want %v", got, err, want)
		}
	}
	split := metadata.Commit{Object: "split", Batches: []metadata.CommitBatch{
		{Partition: p, Pos: 0, Len: 10, Records: 1, ProducerID: metadata.NoProducer},
		{Partition: p, Pos: 10, Len: 10, Records: 1, ProducerID: 5, ProducerEpoch: 0, BaseSequence: 3}, // out of order
		{Partition: p, Pos: 20, Len: 10, Records: 1, ProducerID: metadata.NoProducer},
	}}
	for _, c := range []metadata.Commit{split, oneBatch(p, 1), {Object: "o2", Batches: oneBatch(p, 1).Batches}} {
		if _, err := s.Commit(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	wantRefs(map[string]string{"split": "2", "o": "1", "o2": "1"})
	es, err := s.Index(ctx, p, 0, 10)
	if err != nil || len(es) != 4 {
		t.Fatalf("Index = %v, %v; want 4 entries", es, err)
	}
	seg := func(e metadata.IndexEntry) metadata.IndexEntry {
		e.Object = "seg"
		return e
	}
	if err := s.ReplaceEntries(ctx, p, es[1:3], []metadata.IndexEntry{seg(es[1]), seg(es[2])}); err != nil {
		t.Fatal(err)
	}
	wantRefs(map[string]string{"split": "1", "seg": "2", "o2": "1"})
	if err := s.Trim(ctx, p, es[2].BaseOffset); err != nil {
		t.Fatal(err)
	}
	wantRefs(map[string]string{"seg": "1", "o2": "1"})
	if err := s.DeleteTopic(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	if n, err := raw.Exists(ctx, refsKey(p)).Result(); err != nil || n != 0 {
		t.Errorf("refs of a deleted topic: exists %d, %v", n, err)
	}
}

// A partition written before the refs hash was kept, or changed since by
// an agent of such a build (raw writes here, as its scripts make them),
// has entries the hash does not count: Referenced, and deleting the topic,
// notice and build it again from the whole index.
func TestReferencedRebuildsStaleRefs(t *testing.T) {
	s, raw, p := onePartition(t)
	ctx := t.Context()
	commit := func(object string) {
		t.Helper()
		if _, err := s.Commit(ctx, metadata.Commit{Object: object, Batches: oneBatch(p, 1).Batches}); err != nil {
			t.Fatal(err)
		}
	}
	want := func(object string, named bool) {
		t.Helper()
		if got, err := s.Referenced(ctx, p, object); err != nil || got != named {
			t.Errorf("Referenced(%s) = %v, %v; want %v", object, got, err, named)
		}
	}
	// oldCommit and oldTrim write as an older agent's scripts do: one
	// record at offset, and the entry of one record at offset dropped.
	oldCommit := func(offset int64, object string) {
		t.Helper()
		m := fmt.Sprintf("%d,%d,0,0,10,%s", offset, offset, object)
		if err := raw.ZAdd(ctx, indexKey(p), goredis.Z{Score: float64(offset), Member: m}).Err(); err != nil {
			t.Fatal(err)
		}
		if err := raw.HSet(ctx, stateKey(p), "hw", offset+1).Err(); err != nil {
			t.Fatal(err)
		}
	}
	oldTrim := func(offset int64, object string) {
		t.Helper()
		if err := raw.ZRem(ctx, indexKey(p), fmt.Sprintf("%d,%d,0,0,10,%s", offset, offset, object)).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// A partition from before the hash.
	commit("a")
	if err := raw.Del(ctx, refsKey(p)).Err(); err != nil {
		t.Fatal(err)
	}
	if err := raw.HDel(ctx, stateKey(p), "refn", "refhw").Err(); err != nil {
		t.Fatal(err)
	}
	commit("b")
	want("a", true)
	want("b", true)
	want("gone", false)
	// An older agent's commit, then a newer one's: the high watermark the
	// hash counted to stays behind.
	oldCommit(2, "old")
	commit("c")
	want("old", true)
	want("c", true)
	// An older agent's trim of the first entry: the count is off.
	oldTrim(0, "a")
	want("a", false)
	want("b", true)
	if got, _ := raw.HGetAll(ctx, refsKey(p)).Result(); !maps.Equal(got, map[string]string{"b": "1", "old": "1", "c": "1"}) {
		t.Errorf("refs built again from the index = %v", got)
	}
	// An older agent's trim and commit leave the count right, and a newer
	// commit moves the high watermark on: the hash's stays behind.
	oldTrim(1, "b")
	oldCommit(4, "old2")
	commit("d")
	want("old2", true)
	want("b", false)
	// Deleting the topic records what the index names, the older agent's
	// last object too.
	oldCommit(6, "old3")
	if err := s.DeleteTopic(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	got, err := s.Orphans(ctx, 10)
	slices.Sort(got)
	if want := []string{"c", "d", "old", "old2", "old3"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("orphans after deleting the topic = %v, %v; want %v", got, err, want)
	}
}
