package memory

import (
	"context"

	"github.com/sluicehq/sluice/metadata"
)

// applyCommit assigns offsets to the commit's batches in slice order,
// checks idempotent producers, and indexes each run of consecutive accepted
// batches of a partition as one entry.
func (s *Store) applyCommit(c metadata.Commit) commitOutcome {
	out := commitOutcome{results: make([]metadata.BatchResult, len(c.Batches))}
	s.commitCount++ // replayed commits count too, so the count survives a restart
	r := runs{object: c.Object, at: make(map[metadata.Partition]int)}
	for i, b := range c.Batches {
		p := s.partition(b.Partition)
		if p == nil {
			out.results[i] = metadata.BatchResult{Err: metadata.ErrUnknownTopic}
			r.end(s)
			continue
		}
		res := admit(p, b)
		res.LogStart = p.start
		out.results[i] = res
		if res.Err != nil || res.Duplicate {
			r.end(s) // their bytes are not indexed, so the run stops here
			continue
		}
		r.add(s, b, res.BaseOffset)
	}
	r.end(s)
	for i := range r.appended {
		r.appended[i].HighWatermark = s.parts[r.appended[i].Partition].hw
	}
	out.appended = r.appended
	return out
}

// partition returns the state of p, or nil if p does not exist.
func (s *Store) partition(p metadata.Partition) *partition {
	t := s.byID[p.Topic]
	if t == nil || p.Index < 0 || p.Index >= t.Partitions {
		return nil
	}
	ps := s.parts[p]
	if ps == nil {
		ps = newPartition()
		s.parts[p] = ps
	}
	return ps
}

// admit checks b's producer and, if b is new, gives it offsets.
func admit(p *partition, b metadata.CommitBatch) metadata.BatchResult {
	// Kafka checks only batches with a producer id (RecordBatch.hasProducerId).
	if b.ProducerID < 0 {
		return take(p, b)
	}
	ps := p.producers[b.ProducerID]
	v := check(ps, b)
	switch {
	case v.err != nil:
		return metadata.BatchResult{Err: v.err}
	case v.dup:
		return metadata.BatchResult{BaseOffset: v.base, Duplicate: true}
	}
	res := take(p, b)
	p.producers[b.ProducerID] = accepted(ps, b, res.BaseOffset)
	return res
}

func take(p *partition, b metadata.CommitBatch) metadata.BatchResult {
	base := p.hw
	p.hw += int64(b.Records)
	return metadata.BatchResult{BaseOffset: base}
}

// runs builds the index entries of one commit: a run grows while accepted
// batches of one partition follow each other, byte for byte, in the object.
type runs struct {
	object   string
	open     bool
	part     metadata.Partition
	entry    metadata.IndexEntry
	appended []metadata.Appended
	at       map[metadata.Partition]int // position in appended
}

func (r *runs) add(s *Store, b metadata.CommitBatch, base int64) {
	last := base + int64(b.Records) - 1
	if r.open && r.part == b.Partition && r.entry.Pos+r.entry.Len == b.Pos {
		r.entry.LastOffset = last
		r.entry.Len += b.Len
		r.entry.MaxTimestamp = max(r.entry.MaxTimestamp, b.MaxTimestamp)
		return
	}
	r.end(s)
	r.open, r.part = true, b.Partition
	r.entry = metadata.IndexEntry{BaseOffset: base, LastOffset: last, MaxTimestamp: b.MaxTimestamp,
		Object: r.object, Pos: b.Pos, Len: b.Len}
}

// end closes the open run, if any, into an index entry.
func (r *runs) end(s *Store) {
	if !r.open {
		return
	}
	r.open = false
	s.parts[r.part].addEntry(r.entry)
	i, ok := r.at[r.part]
	if !ok {
		i = len(r.appended)
		r.at[r.part] = i
		r.appended = append(r.appended, metadata.Appended{Partition: r.part})
	}
	r.appended[i].Entries = append(r.appended[i].Entries, r.entry)
}

// CommitCounts returns the number of commits applied, replayed ones
// included, as the one shard "". The embedded store cannot lose
// acknowledged writes short of losing its directory, so it never refuses a
// commit on this count.
func (s *Store) CommitCounts(context.Context) (map[string]int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return map[string]int64{"": s.commitCount}, nil
}
