package memory

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/sluicehq/sluice/metadata"
)

var _ metadata.Lifecycle = (*Store)(nil)

// replaceEntries is the mutation of one ReplaceEntries call that passed
// its compare-and-set.
type replaceEntries struct {
	Partition    metadata.Partition    `json:"partition"`
	Old          []metadata.IndexEntry `json:"old"`
	Replacements []metadata.IndexEntry `json:"replacements,omitempty"`
	// Replacement is the one entry of a log written before a compaction
	// could make several; it is only read.
	Replacement *metadata.IndexEntry `json:"replacement,omitempty"`
}

// trimLog is the mutation of one Trim call that moved the log start.
type trimLog struct {
	Partition metadata.Partition `json:"partition"`
	LogStart  int64              `json:"log_start"`
}

// ReplaceEntries swaps old for replacement if old is still in the index.
func (s *Store) ReplaceEntries(_ context.Context, p metadata.Partition, old, replacement []metadata.IndexEntry) error {
	if err := metadata.CheckReplacement(old, replacement); err != nil {
		return err
	}
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	ps := s.partition(p)
	if ps == nil {
		return fmt.Errorf("%w: partition %d", metadata.ErrUnknownTopic, p.Index)
	}
	if ps.find(old) < 0 {
		return fmt.Errorf("%w: entries %d-%d", metadata.ErrConflict, old[0].BaseOffset, old[len(old)-1].LastOffset)
	}
	m := &replaceEntries{Partition: p, Old: old, Replacements: replacement}
	if _, err := s.change(mutation{ReplaceEntries: m}); err != nil {
		return fmt.Errorf("replacing index entries: %w", err)
	}
	return nil
}

// Trim raises the log start to an entry boundary or the high watermark.
func (s *Store) Trim(_ context.Context, p metadata.Partition, logStart int64) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	ps := s.partition(p)
	switch {
	case ps == nil:
		return fmt.Errorf("%w: partition %d", metadata.ErrUnknownTopic, p.Index)
	case logStart <= ps.start:
		return nil
	case logStart != ps.hw && ps.at(logStart) < 0:
		return fmt.Errorf("%w: no entry starts at %d", metadata.ErrConflict, logStart)
	}
	if _, err := s.change(mutation{Trim: &trimLog{Partition: p, LogStart: logStart}}); err != nil {
		return fmt.Errorf("trimming index: %w", err)
	}
	return nil
}

// Referenced reports whether an entry of p names object.
func (s *Store) Referenced(_ context.Context, p metadata.Partition, object string) (bool, error) {
	if err := s.lock(); err != nil {
		return false, err
	}
	defer s.mu.Unlock()
	ps := s.parts[p]
	if ps == nil {
		return false, nil
	}
	return ps.refs[object] > 0, nil
}

// OrphansBefore returns the oldest orphans recorded before t.
func (s *Store) OrphansBefore(_ context.Context, t time.Time, limit int) ([]string, error) {
	o := &s.orphans
	o.mu.Lock()
	defer o.mu.Unlock()
	out := []string{}
	for _, k := range o.keys {
		if len(out) >= limit || !o.at[k].Before(t) {
			break
		}
		out = append(out, k)
	}
	return out, nil
}

// Lease takes or renews the lease. Leases are not persisted: one process
// holds a persistent store, so there is no one to share work with.
func (s *Store) Lease(_ context.Context, name, holder string, ttl time.Duration) (bool, error) {
	t := &s.leases
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	if l, ok := t.m[name]; ok && l.holder != holder && now.Before(l.until) {
		return false, nil
	}
	if t.m == nil {
		t.m = make(map[string]lease)
	}
	t.m[name] = lease{holder: holder, until: now.Add(ttl)}
	return true, nil
}

// leaseTable holds the leases, apart from Store.mu like the orphans.
type leaseTable struct {
	mu sync.Mutex
	m  map[string]lease
}

// lease is one Lease holder and when its lease ends.
type lease struct {
	holder string
	until  time.Time
}

// applyReplace swaps the entries; replay skips a change it cannot find.
func (s *Store) applyReplace(m replaceEntries) {
	ps := s.parts[m.Partition]
	if ps == nil {
		return
	}
	i := ps.find(m.Old)
	if i < 0 {
		return
	}
	repl := m.Replacements
	if m.Replacement != nil {
		repl = append(repl, *m.Replacement)
	}
	ps.unref(m.Old)
	for _, e := range repl {
		ps.refs[e.Object]++
	}
	ps.index = slices.Replace(ps.index, i, i+len(m.Old), repl...)
	ps.findPeaks()
}

// applyTrim moves the log start and drops the entries below it.
func (s *Store) applyTrim(m trimLog) {
	ps := s.parts[m.Partition]
	if ps == nil || m.LogStart <= ps.start {
		return
	}
	ps.start = m.LogStart
	n := sort.Search(len(ps.index), func(i int) bool { return ps.index[i].BaseOffset >= m.LogStart })
	ps.unref(ps.index[:n])
	ps.index = slices.Delete(ps.index, 0, n)
	ps.findPeaks()
}

// at returns the position of the entry starting at base, or -1.
func (p *partition) at(base int64) int {
	i := sort.Search(len(p.index), func(i int) bool { return p.index[i].BaseOffset >= base })
	if i == len(p.index) || p.index[i].BaseOffset != base {
		return -1
	}
	return i
}

// find returns the position of old in the index, or -1 unless every entry
// of old is there exactly.
func (p *partition) find(old []metadata.IndexEntry) int {
	i := p.at(old[0].BaseOffset)
	if i < 0 || i+len(old) > len(p.index) || !slices.Equal(p.index[i:i+len(old)], old) {
		return -1
	}
	return i
}

// findPeaks recomputes the peaks after entries were replaced or dropped.
func (p *partition) findPeaks() {
	p.peaks = p.peaks[:0]
	for i, e := range p.index {
		if n := len(p.peaks); n == 0 || e.MaxTimestamp > p.index[p.peaks[n-1]].MaxTimestamp {
			p.peaks = append(p.peaks, i)
		}
	}
}
