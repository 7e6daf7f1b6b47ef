package tiering

import (
	"cmp"
	"context"
	"slices"

	"github.com/sluicehq/sluice/tiering/cache"
)

// A fetch wants one partition's ranges of objects that hold every
// partition's batches, several partitions at once. Prefetch reads the ranges
// of one object that lie close together in one GET, and the GETs of one
// call at once.
const (
	// mergeGap is the largest stretch of unwanted bytes a merged GET
	// reads through: reading it is cheaper than a second GET, and the
	// cached span serves other consumers' partitions in between.
	mergeGap = 1 << 20
	// maxSpan bounds a merged GET, so that spans stay well inside the
	// cache and one fetch's GETs run in parallel.
	maxSpan = 16 << 20
)

// Prefetched holds the loads one Prefetch started or found; reads of those
// ranges are served by them even after the cache evicted them.
type Prefetched struct {
	r     *Reader
	loads map[cache.Key]*cache.Load
}

// Prefetch starts reading each of ks that is neither cached nor being read,
// merging the ranges of one object that lie at most mergeGap apart into one
// GET, and returns without waiting. Reads through the returned Prefetched
// wait for those loads.
func (r *Reader) Prefetch(ctx context.Context, ks []cache.Key) *Prefetched {
	ks = slices.DeleteFunc(slices.Clone(ks), func(k cache.Key) bool { return k.Len <= 0 || k.Pos < 0 })
	loads := r.cache.Acquire(ctx, ks, mergeRanges, r.get)
	p := &Prefetched{r: r, loads: make(map[cache.Key]*cache.Load, len(ks))}
	for i, k := range ks {
		p.loads[k] = loads[i]
	}
	return p
}

// Read is Reader.Read, served by the prefetched loads when they hold the
// range. A failed load is dropped, so a caller that retries reads again.
// Read is not safe for concurrent use.
func (p *Prefetched) Read(ctx context.Context, key string, off, length int64) ([]byte, error) {
	k := cache.Key{Object: key, Pos: off, Len: length}
	l, ok := p.loads[k]
	if !ok {
		return p.r.Read(ctx, key, off, length)
	}
	data, err := l.Bytes(ctx, k)
	if err != nil {
		delete(p.loads, k)
		return nil, err
	}
	return data, nil
}

// mergeRanges returns the spans to GET for ks: ranges of one object, sorted
// by position, join the span before them when the gap is at most mergeGap
// and the span stays within maxSpan.
func mergeRanges(ks []cache.Key) []cache.Key {
	ks = slices.Clone(ks)
	slices.SortFunc(ks, func(a, b cache.Key) int {
		return cmp.Or(cmp.Compare(a.Object, b.Object), cmp.Compare(a.Pos, b.Pos))
	})
	var spans []cache.Key
	for _, k := range ks {
		if n := len(spans); n > 0 {
			s := &spans[n-1]
			end := max(s.Pos+s.Len, k.Pos+k.Len)
			if s.Object == k.Object && k.Pos <= s.Pos+s.Len+mergeGap && end-s.Pos <= maxSpan {
				s.Len = end - s.Pos
				continue
			}
		}
		spans = append(spans, k)
	}
	return spans
}
