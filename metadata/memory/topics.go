package memory

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/metadata"
)

// CreateTopic registers t, with a random ID if t.ID is zero. It returns
// ErrTopicExists if the name, or the ID, is taken.
func (s *Store) CreateTopic(_ context.Context, t metadata.Topic) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := s.topics[t.Name]; ok {
		return fmt.Errorf("creating topic %s: %w", t.Name, metadata.ErrTopicExists)
	}
	if t.ID == (metadata.TopicID{}) {
		t.ID = metadata.TopicID(uuid.New())
	}
	if _, ok := s.byID[t.ID]; ok {
		return fmt.Errorf("creating topic %s: ID %v in use: %w", t.Name, t.ID, metadata.ErrTopicExists)
	}
	t.Configs = maps.Clone(t.Configs)
	_, err := s.change(mutation{CreateTopic: &t})
	return err
}

// DeleteTopic removes the topic and its partitions' state, and records the
// objects their indexes named as orphans.
func (s *Store) DeleteTopic(ctx context.Context, name string) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	t, ok := s.topics[name]
	if !ok {
		return fmt.Errorf("deleting topic %s: %w", name, metadata.ErrUnknownTopic)
	}
	var objects []string
	for i := range t.Partitions {
		if p := s.parts[metadata.Partition{Topic: t.ID, Index: i}]; p != nil {
			objects = slices.AppendSeq(objects, maps.Keys(p.refs))
		}
	}
	if _, err := s.change(mutation{DeleteTopic: &name}); err != nil {
		return err
	}
	// Nothing else would let go of the topic's objects; cleanup deletes
	// those no other partition names.
	for _, o := range objects {
		if err := s.RecordOrphan(ctx, o); err != nil {
			return err
		}
	}
	return nil
}

// Topics returns every topic, sorted by name.
func (s *Store) Topics(context.Context) ([]metadata.Topic, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	ts := make([]metadata.Topic, 0, len(s.topics))
	for _, t := range s.topics {
		ts = append(ts, copyTopic(t))
	}
	slices.SortFunc(ts, func(a, b metadata.Topic) int { return strings.Compare(a.Name, b.Name) })
	return ts, nil
}

// Topic returns one topic or ErrUnknownTopic.
func (s *Store) Topic(_ context.Context, name string) (metadata.Topic, error) {
	if err := s.lock(); err != nil {
		return metadata.Topic{}, err
	}
	defer s.mu.Unlock()
	t, ok := s.topics[name]
	if !ok {
		return metadata.Topic{}, fmt.Errorf("reading topic %s: %w", name, metadata.ErrUnknownTopic)
	}
	return copyTopic(t), nil
}

// AddPartitions raises the topic's partition count to total.
func (s *Store) AddPartitions(_ context.Context, name string, total int32) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	t, ok := s.topics[name]
	switch {
	case !ok:
		return fmt.Errorf("adding partitions to %s: %w", name, metadata.ErrUnknownTopic)
	case total <= t.Partitions:
		return fmt.Errorf("adding partitions to %s: %d is not above %d: %w",
			name, total, t.Partitions, metadata.ErrInvalidPartitions)
	}
	_, err := s.change(mutation{AddPartitions: &addPartitions{Name: name, Total: total}})
	return err
}

// AlterConfigs sets and deletes the topic's configs.
func (s *Store) AlterConfigs(_ context.Context, name string, set map[string]*string, replace bool) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := s.topics[name]; !ok {
		return fmt.Errorf("altering configs of %s: %w", name, metadata.ErrUnknownTopic)
	}
	_, err := s.change(mutation{AlterConfigs: &alterConfigs{Name: name, Set: maps.Clone(set), Replace: replace}})
	return err
}

// copyTopic copies t so that callers never share the store's config map.
func copyTopic(t *metadata.Topic) metadata.Topic {
	c := *t
	c.Configs = maps.Clone(t.Configs)
	return c
}
