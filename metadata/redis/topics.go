package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/sluicehq/sluice/metadata"
)

// The registry ({topics} keys) and each partition's state live in different
// slots, so a topic change is two steps. The order makes a crash between
// them harmless: partitions are created before the topic names them, and
// deleted before the topic is unregistered, so a registered partition always
// has its state, and leftovers are only state no topic names.

// configPrefix marks config fields in a topic's hash.
const configPrefix = "config:"

// CreateTopic registers t, with a random ID if t.ID is zero. It returns
// ErrTopicExists if the name, or the ID, is taken.
func (s *Store) CreateTopic(ctx context.Context, t metadata.Topic) error {
	if t.ID == (metadata.TopicID{}) {
		t.ID = metadata.TopicID(uuid.New())
	}
	if _, err := s.readTopic(ctx, t.Name); err == nil {
		return fmt.Errorf("creating topic %s: %w", t.Name, metadata.ErrTopicExists)
	} else if !errors.Is(err, metadata.ErrUnknownTopic) {
		return fmt.Errorf("creating topic %s: %w", t.Name, err)
	}
	if err := s.createPartitions(ctx, t.ID, 0, t.Partitions); err != nil {
		return fmt.Errorf("creating topic %s: %w", t.Name, err)
	}
	args := []any{t.Name, t.ID.String(), t.Partitions}
	for k, v := range t.Configs {
		args = append(args, k, v)
	}
	n, err := createTopicScript.Run(ctx, s.client, []string{topicNamesKey(), topicIDsKey(), topicKey(t.Name)}, args...).Int()
	switch {
	case err != nil:
		return fmt.Errorf("creating topic %s: %w", t.Name, err)
	case n == 0:
		return fmt.Errorf("creating topic %s: %w", t.Name, metadata.ErrTopicExists)
	case n < 0:
		return fmt.Errorf("creating topic %s: ID %v in use: %w", t.Name, t.ID, metadata.ErrTopicExists)
	}
	return nil
}

// createPartitions creates the state of partitions [from, to) of topic id,
// keeping any that exists.
func (s *Store) createPartitions(ctx context.Context, id metadata.TopicID, from, to int32) error {
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := from; i < to; i++ {
			p.HSetNX(ctx, stateKey(metadata.Partition{Topic: id, Index: i}), "hw", 0)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("creating partitions: %w", err)
	}
	return nil
}

// DeleteTopic removes the topic and its partitions' state, and records the
// objects their indexes named as orphans: nothing else would ever let go
// of them, and cleanup deletes those no other partition names. A crash
// between dropping a partition and recording its objects leaves them in
// the bucket.
func (s *Store) DeleteTopic(ctx context.Context, name string) error {
	t, err := s.readTopic(ctx, name)
	if err != nil {
		return fmt.Errorf("deleting topic %s: %w", name, err)
	}
	for i := range t.Partitions {
		// One script per partition: a partition's keys share a slot, the
		// orphan log is elsewhere in a cluster.
		objects, err := dropPartitionScript.Run(ctx, s.client, partitionKeys(metadata.Partition{Topic: t.ID, Index: i})).StringSlice()
		if err != nil {
			return fmt.Errorf("deleting topic %s: deleting partition %d: %w", name, i, err)
		}
		if err := s.recordOrphans(ctx, objects); err != nil {
			return fmt.Errorf("deleting topic %s: recording the objects of partition %d as orphans: %w", name, i, err)
		}
	}
	keys := []string{topicNamesKey(), topicIDsKey(), topicKey(name)}
	n, err := deleteTopicScript.Run(ctx, s.client, keys, name, t.ID.String()).Int()
	switch {
	case err != nil:
		return fmt.Errorf("deleting topic %s: %w", name, err)
	case n == 0:
		return fmt.Errorf("deleting topic %s: %w", name, metadata.ErrUnknownTopic)
	}
	return nil
}

// Topics returns every topic, sorted by name.
func (s *Store) Topics(ctx context.Context) ([]metadata.Topic, error) {
	names, err := s.client.SMembers(ctx, topicNamesKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("listing topics: %w", err)
	}
	cmds := make([]*redis.MapStringStringCmd, len(names))
	_, err = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, name := range names {
			cmds[i] = p.HGetAll(ctx, topicKey(name))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading topics: %w", err)
	}
	ts := make([]metadata.Topic, 0, len(names))
	for i, name := range names {
		t, err := decodeTopic(name, cmds[i].Val())
		if errors.Is(err, metadata.ErrUnknownTopic) {
			continue // deleted since the listing
		}
		if err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	slices.SortFunc(ts, func(a, b metadata.Topic) int { return strings.Compare(a.Name, b.Name) })
	return ts, nil
}

// Topic returns one topic or ErrUnknownTopic.
func (s *Store) Topic(ctx context.Context, name string) (metadata.Topic, error) {
	t, err := s.readTopic(ctx, name)
	if err != nil {
		return metadata.Topic{}, fmt.Errorf("reading topic %s: %w", name, err)
	}
	return t, nil
}

func (s *Store) readTopic(ctx context.Context, name string) (metadata.Topic, error) {
	h, err := s.client.HGetAll(ctx, topicKey(name)).Result()
	if err != nil {
		return metadata.Topic{}, err
	}
	return decodeTopic(name, h)
}

// decodeTopic reads a topic's hash; an empty one means no topic.
func decodeTopic(name string, h map[string]string) (metadata.Topic, error) {
	if len(h) == 0 {
		return metadata.Topic{}, metadata.ErrUnknownTopic
	}
	id, err := uuid.Parse(h["id"])
	if err != nil {
		return metadata.Topic{}, fmt.Errorf("%w: topic %s has ID %q", errBadReply, name, h["id"])
	}
	n, err := strconv.ParseInt(h["partitions"], 10, 32)
	if err != nil {
		return metadata.Topic{}, fmt.Errorf("%w: topic %s has %q partitions", errBadReply, name, h["partitions"])
	}
	t := metadata.Topic{Name: name, ID: metadata.TopicID(id), Partitions: int32(n), Configs: map[string]string{}}
	for k, v := range h {
		if c, ok := strings.CutPrefix(k, configPrefix); ok {
			t.Configs[c] = v
		}
	}
	return t, nil
}

// AddPartitions raises the topic's partition count to total.
func (s *Store) AddPartitions(ctx context.Context, name string, total int32) error {
	t, err := s.readTopic(ctx, name)
	if err == nil && total <= t.Partitions {
		err = fmt.Errorf("%d is not above %d: %w", total, t.Partitions, metadata.ErrInvalidPartitions)
	}
	if err != nil {
		return fmt.Errorf("adding partitions to %s: %w", name, err)
	}
	if err := s.createPartitions(ctx, t.ID, t.Partitions, total); err != nil {
		return fmt.Errorf("adding partitions to %s: %w", name, err)
	}
	n, err := addPartitionsScript.Run(ctx, s.client, []string{topicKey(name)}, total, t.ID.String()).Int()
	switch {
	case err != nil:
		return fmt.Errorf("adding partitions to %s: %w", name, err)
	case n == 0:
		return fmt.Errorf("adding partitions to %s: %w", name, metadata.ErrInvalidPartitions)
	case n < 0:
		return fmt.Errorf("adding partitions to %s: %w", name, metadata.ErrUnknownTopic)
	}
	return nil
}

// AlterConfigs sets and deletes the topic's configs.
func (s *Store) AlterConfigs(ctx context.Context, name string, set map[string]*string, replace bool) error {
	args := []any{map[bool]string{true: "1", false: "0"}[replace]}
	for k, v := range set {
		if v == nil {
			args = append(args, k, "delete", "")
		} else {
			args = append(args, k, "set", *v)
		}
	}
	n, err := alterConfigsScript.Run(ctx, s.client, []string{topicKey(name)}, args...).Int()
	switch {
	case err != nil:
		return fmt.Errorf("altering configs of %s: %w", name, err)
	case n == 0:
		return fmt.Errorf("altering configs of %s: %w", name, metadata.ErrUnknownTopic)
	}
	return nil
}
