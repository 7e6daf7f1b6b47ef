package memory

import (
	"context"
	"fmt"

	"github.com/sluicehq/sluice/metadata"
)

// Commit assigns offsets to c's batches and indexes them, all at once.
func (s *Store) Commit(ctx context.Context, c metadata.Commit) ([]metadata.BatchResult, error) {
	s.Commits.Add(1)
	if err := validateCommit(c); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("committing %s: %w", c.Object, err)
	}
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if err := s.FailNextCommit.take(); err != nil {
		return nil, err
	}
	out, err := s.change(mutation{Commit: &c})
	if err != nil {
		return nil, fmt.Errorf("committing %s: %w", c.Object, err)
	}
	// Watchers hear of commits in commit order because they are told
	// under the lock that orders the commits.
	s.notify(out.appended)
	if err := s.FailNextCommitAfter.take(); err != nil {
		return nil, err
	}
	return out.results, nil
}

// Index returns up to limit entries of p whose LastOffset is >= from.
func (s *Store) Index(_ context.Context, p metadata.Partition, from int64, limit int) ([]metadata.IndexEntry, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	ps := s.parts[p]
	if ps == nil {
		return []metadata.IndexEntry{}, nil
	}
	return ps.entries(from, limit), nil
}

// Offsets returns the bounds of each partition; zero for one never written.
func (s *Store) Offsets(_ context.Context, ps []metadata.Partition) ([]metadata.Offsets, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	os := make([]metadata.Offsets, len(ps))
	for i, p := range ps {
		if st := s.parts[p]; st != nil {
			os[i] = metadata.Offsets{LogStart: st.start, HighWatermark: st.hw}
		}
	}
	return os, nil
}

// OffsetForTime returns the first entry of p whose MaxTimestamp is >= ts.
func (s *Store) OffsetForTime(_ context.Context, p metadata.Partition, ts int64) (metadata.IndexEntry, bool, error) {
	if err := s.lock(); err != nil {
		return metadata.IndexEntry{}, false, err
	}
	defer s.mu.Unlock()
	ps := s.parts[p]
	if ps == nil {
		return metadata.IndexEntry{}, false, nil
	}
	e, ok := ps.forTime(ts)
	return e, ok, nil
}

// InitProducerID hands out the next producer id, from 0, with epoch 0.
func (s *Store) InitProducerID(context.Context) (int64, int16, error) {
	if err := s.lock(); err != nil {
		return 0, 0, err
	}
	defer s.mu.Unlock()
	id := s.nextProducer
	if _, err := s.change(mutation{ProducerID: &id}); err != nil {
		return 0, 0, fmt.Errorf("handing out producer id: %w", err)
	}
	return id, 0, nil
}
