package agent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kerr"
	"golang.org/x/sync/singleflight"

	"github.com/sluicehq/sluice/metadata"
)

// topicCache keeps topics for a short while so that produce and fetch do not
// read the registry on every request. A topic created or changed by another
// agent becomes visible here within the TTL. Requests that find an entry
// expired at once share one read, so the registry sees one read per topic
// per TTL whatever the request rate.
type topicCache struct {
	reg   metadata.TopicRegistry
	ttl   time.Duration
	loads singleflight.Group

	mu     sync.Mutex
	byName map[string]cachedTopic
}

type cachedTopic struct {
	t       metadata.Topic
	missing bool
	at      time.Time
}

func newTopicCache(reg metadata.TopicRegistry, ttl time.Duration) *topicCache {
	return &topicCache{reg: reg, ttl: ttl, byName: make(map[string]cachedTopic)}
}

// get returns the topic, or metadata.ErrUnknownTopic.
func (c *topicCache) get(ctx context.Context, name string) (metadata.Topic, error) {
	c.mu.Lock()
	ct, ok := c.byName[name]
	c.mu.Unlock()
	if ok && time.Since(ct.at) < c.ttl {
		if ct.missing {
			return metadata.Topic{}, metadata.ErrUnknownTopic
		}
		return ct.t, nil
	}
	v, err, _ := c.loads.Do(name, func() (any, error) {
		t, err := c.reg.Topic(ctx, name)
		switch {
		case errors.Is(err, metadata.ErrUnknownTopic):
			c.put(name, cachedTopic{missing: true, at: time.Now()})
		case err == nil:
			c.put(name, cachedTopic{t: t, at: time.Now()})
		}
		return t, err
	})
	return v.(metadata.Topic), err
}

// all lists every topic, refreshing the cache with them.
func (c *topicCache) all(ctx context.Context) ([]metadata.Topic, error) {
	ts, err := c.reg.Topics(ctx)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range ts {
		c.byName[t.Name] = cachedTopic{t: t, at: now}
	}
	return ts, nil
}

// forget drops a name after this agent changed it, so the change is seen at
// once here.
func (c *topicCache) forget(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.byName, name)
}

func (c *topicCache) put(name string, ct cachedTopic) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byName[name] = ct
}

// validateTopicName applies Kafka's rules for topic names.
func validateTopicName(name string) error {
	switch {
	case name == "":
		return errors.New("topic name is empty")
	case name == "." || name == "..":
		return fmt.Errorf("topic name %q is not allowed", name)
	case len(name) > 249:
		return fmt.Errorf("topic name is %d characters, longer than 249", len(name))
	}
	for _, r := range name {
		legal := r == '.' || r == '_' || r == '-' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
		if !legal {
			return fmt.Errorf("topic name %q holds %q; only ASCII letters, digits, '.', '_' and '-' are allowed", name, r)
		}
	}
	return nil
}

// newTopic returns a topic with a fresh ID, ready to be created.
func newTopic(name string, partitions int32, configs map[string]string) metadata.Topic {
	return metadata.Topic{Name: name, ID: metadata.TopicID(uuid.New()), Partitions: partitions, Configs: configs}
}

// partitionOf names partition index of a topic looked up with error terr:
// the lookup's error, UNKNOWN_TOPIC_OR_PARTITION for an index the topic
// does not have, or the partition.
func partitionOf(t metadata.Topic, terr error, index int32) (metadata.Partition, error) {
	switch {
	case terr != nil:
		return metadata.Partition{}, terr
	case index < 0 || index >= t.Partitions:
		return metadata.Partition{}, kerr.UnknownTopicOrPartition
	}
	return metadata.Partition{Topic: t.ID, Index: index}, nil
}
