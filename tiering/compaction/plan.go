package compaction

import "time"

// Policy says which sources are worth compacting.
type Policy struct {
	// MinEntries is the fewest sources one compaction merges.
	MinEntries int
	// MinAge is how old a source's object must be (Source.Created) before
	// it is compacted, so that fresh data, read most, stays where it is.
	MinAge time.Duration
	// TargetBytes is the size segments grow to; sources this large are
	// left alone, and one compaction never makes more.
	TargetBytes int64
	// ReleaseAge, when positive, compacts a shared source this old even in
	// a run shorter than MinEntries, so that one quiet partition does not
	// keep an ingest object, and every other partition's bytes in it,
	// alive.
	ReleaseAge time.Duration
}

// Plan returns the runs of consecutive srcs, given in offset order, that p
// says to compact at now, each as a subslice of srcs.
//
// Candidates are sources older than MinAge and smaller than TargetBytes;
// a run of them is cut into chunks of at most TargetBytes. A chunk whose
// first source is larger than the rest of it together loses that source
// (it is left for a later, larger merge): so a byte is rewritten only when
// the segment holding it at least doubles. A chunk is compacted when it has
// MinEntries sources or more, or holds a shared source older than
// ReleaseAge.
func Plan(srcs []Source, p Policy, now time.Time) [][]Source {
	var out [][]Source
	for i := 0; i < len(srcs); {
		if !p.candidate(srcs[i], now) {
			i++
			continue
		}
		j, total := i, int64(0)
		for j < len(srcs) && p.candidate(srcs[j], now) && (j == i || total+srcs[j].Len <= p.TargetBytes) {
			total += srcs[j].Len
			j++
		}
		if j-i > 1 && srcs[i].Len > total-srcs[i].Len {
			i++
			continue
		}
		if j-i >= max(p.MinEntries, 1) || p.releases(srcs[i:j], now) {
			out = append(out, srcs[i:j])
		}
		i = j
	}
	return out
}

func (p Policy) candidate(s Source, now time.Time) bool {
	return s.Len < p.TargetBytes && now.Sub(s.Created) >= p.MinAge
}

// releases reports whether chunk holds a shared source past ReleaseAge.
func (p Policy) releases(chunk []Source, now time.Time) bool {
	if p.ReleaseAge <= 0 {
		return false
	}
	for _, s := range chunk {
		if s.Shared && now.Sub(s.Created) >= p.ReleaseAge {
			return true
		}
	}
	return false
}
