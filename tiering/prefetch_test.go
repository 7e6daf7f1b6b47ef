package tiering

import (
	"slices"
	"testing"

	"github.com/sluicehq/sluice/tiering/bucket"
	"github.com/sluicehq/sluice/tiering/bucket/buckettest"
	"github.com/sluicehq/sluice/tiering/cache"
)

func TestMergeRanges(t *testing.T) {
	ks := []cache.Key{
		{Object: "b", Pos: 0, Len: 10},
		{Object: "a", Pos: 100 + 2*mergeGap + 1, Len: 5}, // too far from the span before
		{Object: "a", Pos: 0, Len: 50},
		{Object: "a", Pos: 50 + mergeGap, Len: 50}, // just close enough
		{Object: "c", Pos: 0, Len: maxSpan - 10},
		{Object: "c", Pos: maxSpan - 10, Len: 20}, // would make the span too long
	}
	want := []cache.Key{
		{Object: "a", Pos: 0, Len: 100 + mergeGap},
		{Object: "a", Pos: 100 + 2*mergeGap + 1, Len: 5},
		{Object: "b", Pos: 0, Len: 10},
		{Object: "c", Pos: 0, Len: maxSpan - 10},
		{Object: "c", Pos: maxSpan - 10, Len: 20},
	}
	if got := mergeRanges(ks); !slices.Equal(got, want) {
		t.Fatalf("mergeRanges = %v\nwant %v", got, want)
	}
}

func TestPrefetchReadsCloseRangesInOneGet(t *testing.T) {
	counting := &buckettest.Faulty{Bucket: bucket.NewInMem()}
	counting.Upload(t.Context(), "obj", []byte("0123456789abcdefghij"))
	r := NewReader(counting, 1<<20)
	ks := []cache.Key{{Object: "obj", Pos: 0, Len: 3}, {Object: "obj", Pos: 5, Len: 2}, {Object: "obj", Pos: 15, Len: 5}}
	p := r.Prefetch(t.Context(), ks)
	for _, k := range ks {
		got, err := p.Read(t.Context(), k.Object, k.Pos, k.Len)
		if want := "0123456789abcdefghij"[k.Pos : k.Pos+k.Len]; err != nil || string(got) != want {
			t.Fatalf("Read %s = %q, %v; want %q", k, got, err, want)
		}
	}
	// The span is cached: a later read inside it makes no GET either.
	if got, err := r.Read(t.Context(), "obj", 8, 4); err != nil || string(got) != "89ab" {
		t.Fatalf("Read inside the prefetched span = %q, %v", got, err)
	}
	if n := counting.Calls(bucket.OpGetRange); n != 1 {
		t.Fatalf("%d GETs, want 1", n)
	}
}

func TestPrefetchedFailureIsRetried(t *testing.T) {
	fb := &buckettest.Faulty{Bucket: bucket.NewInMem()}
	fb.Upload(t.Context(), "obj", []byte("0123456789"))
	fb.FailGetRange(bucket.ErrNotFound)
	r := NewReader(fb, 1<<20)
	p := r.Prefetch(t.Context(), []cache.Key{{Object: "obj", Pos: 1, Len: 3}})
	if _, err := p.Read(t.Context(), "obj", 1, 3); err == nil {
		t.Fatal("the failed prefetch was not reported")
	}
	if got, err := p.Read(t.Context(), "obj", 1, 3); err != nil || string(got) != "123" {
		t.Fatalf("Read after a failed prefetch = %q, %v", got, err)
	}
}
