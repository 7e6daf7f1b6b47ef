package redis

import (
	"maps"
	"testing"

	"github.com/sluicehq/sluice/integration/testenv"
	"github.com/sluicehq/sluice/metadata"
)

// The refs hash counts, per object, the entries naming it through commits
// (two entries of one object when a refused batch splits its run),
// replacements and trims, and is dropped with its topic.
func TestRefsFollowTheIndex(t *testing.T) {
	r := testenv.StartRedis(t)
	s, raw := openStore(t, r.URL()), rawClient(t, r)
	ctx := t.Context()
	tp := createTopic(t, s, "t", 1)
	p := metadata.Partition{Topic: tp.ID}
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

// A partition written before the refs hash was kept has entries it does
// not count: Referenced builds it from the whole index, once.
func TestReferencedBuildsRefsOnce(t *testing.T) {
	r := testenv.StartRedis(t)
	s, raw := openStore(t, r.URL()), rawClient(t, r)
	ctx := t.Context()
	tp := createTopic(t, s, "t", 1)
	p := metadata.Partition{Topic: tp.ID}
	if _, err := s.Commit(ctx, oneBatch(p, 1)); err != nil {
		t.Fatal(err)
	}
	// As an older agent left it: no refs, and no mark.
	if err := raw.Del(ctx, refsKey(p)).Err(); err != nil {
		t.Fatal(err)
	}
	if err := raw.HDel(ctx, stateKey(p), "refs").Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit(ctx, metadata.Commit{Object: "new", Batches: oneBatch(p, 1).Batches}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		object string
		want   bool
	}{{"o", true}, {"new", true}, {"gone", false}} {
		if got, err := s.Referenced(ctx, p, c.object); err != nil || got != c.want {
			t.Errorf("Referenced(%s) = %v, %v; want %v", c.object, got, err, c.want)
		}
	}
	if got, _ := raw.HGetAll(ctx, refsKey(p)).Result(); !maps.Equal(got, map[string]string{"o": "1", "new": "1"}) {
		t.Errorf("refs built from the index = %v", got)
	}
	if mark, _ := raw.HGet(ctx, stateKey(p), "refs").Result(); mark != "1" {
		t.Errorf("state refs mark = %q, want 1", mark)
	}
}
