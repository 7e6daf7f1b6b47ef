package memory

import (
	"sort"

	"github.com/sluicehq/sluice/metadata"
)

// partition is the state of one partition of one topic incarnation.
type partition struct {
	// start is the log-start offset; only Trim moves it (lifecycle.go).
	start int64
	hw    int64 // next offset to assign
	index []metadata.IndexEntry
	// peaks are the positions in index of the entries whose MaxTimestamp is
	// above every earlier entry's. The first entry at or after a time is
	// always a peak, so OffsetForTime is a binary search over them.
	peaks     []int
	producers map[int64]*producerState
	// refs counts the entries of index naming each object, so that
	// Referenced does not walk the index.
	refs map[string]int
}

func newPartition() *partition {
	return &partition{producers: make(map[int64]*producerState), refs: make(map[string]int)}
}

// addEntry appends e, which starts at the end of the index.
func (p *partition) addEntry(e metadata.IndexEntry) {
	if n := len(p.peaks); n == 0 || e.MaxTimestamp > p.index[p.peaks[n-1]].MaxTimestamp {
		p.peaks = append(p.peaks, len(p.index))
	}
	p.index = append(p.index, e)
	p.refs[e.Object]++
}

// unref counts the entries es, taken out of the index, off refs.
func (p *partition) unref(es []metadata.IndexEntry) {
	for _, e := range es {
		if p.refs[e.Object]--; p.refs[e.Object] <= 0 {
			delete(p.refs, e.Object)
		}
	}
}

// entries returns up to limit entries whose LastOffset is >= from, skipping
// those before the log start.
func (p *partition) entries(from int64, limit int) []metadata.IndexEntry {
	from = max(from, p.start)
	i := sort.Search(len(p.index), func(i int) bool { return p.index[i].LastOffset >= from })
	n := min(len(p.index)-i, max(limit, 0))
	return append([]metadata.IndexEntry{}, p.index[i:i+n]...)
}

// forTime returns the first entry whose MaxTimestamp is >= ts.
func (p *partition) forTime(ts int64) (metadata.IndexEntry, bool) {
	i := sort.Search(len(p.peaks), func(i int) bool { return p.index[p.peaks[i]].MaxTimestamp >= ts })
	if i == len(p.peaks) {
		return metadata.IndexEntry{}, false
	}
	return p.index[p.peaks[i]], true
}
