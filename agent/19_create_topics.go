package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/metadata"
)

// CreateTopics: v0-7
//
// Behaviour:
//   - Any agent creates topics; there is no controller to forward to. The
//     registry decides races: of two agents creating one name, one wins and
//     the other answers TOPIC_ALREADY_EXISTS.
//   - Names follow Kafka's rules (INVALID_TOPIC_EXCEPTION), including that
//     a name may not differ from an existing one only by '.' versus '_'.
//   - NumPartitions -1 takes the agent's default partition count. Any
//     replication factor from 1 up, or -1, is accepted: every agent serves
//     every partition and the bucket holds the only copy, so replicas list
//     the agents.
//   - ReplicaAssignment is refused with INVALID_REQUEST: agents place
//     partitions themselves.
//   - Configs are validated against Kafka's rules for the keys Sluice
//     knows; an unknown key or bad value is INVALID_CONFIG with a message.
//   - A name given twice is answered once, with INVALID_REQUEST, and not
//     created; the other topics of the request go ahead.
//   - ValidateOnly runs every check, including whether the name is taken,
//     and creates nothing.
//   - TimeoutMillis is ignored: creation is done when the answer is sent.
//
// Version notes:
//   - v1: ValidateOnly, ErrorMessage. v2: ThrottleMillis.
//   - v4: -1 for NumPartitions and ReplicationFactor (KIP-464).
//   - v5: flexible; NumPartitions, ReplicationFactor and Configs of the
//     created topic in the response (KIP-525).
//   - v7: TopicID in the response (zero for ValidateOnly).
func (srv *Server) handleCreateTopics(ctx context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.CreateTopicsRequest)
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)

	donet := func(name string, err error) *kmsg.CreateTopicsResponseTopic {
		st := kmsg.NewCreateTopicsResponseTopic()
		st.Topic, st.ErrorCode, st.ErrorMessage = name, errCode(err), errorMessage(err)
		resp.Topics = append(resp.Topics, st)
		return &resp.Topics[len(resp.Topics)-1]
	}

	dups := duplicates(req.Topics, func(rt kmsg.CreateTopicsRequestTopic) string { return rt.Topic })
	answered := make(map[string]bool)
	names := newCollisions(srv.deps.Store)
	for _, rt := range req.Topics {
		if dups[rt.Topic] {
			if !answered[rt.Topic] {
				donet(rt.Topic, codeErrorf(kerr.InvalidRequest, "Duplicate topic name."))
				answered[rt.Topic] = true
			}
			continue
		}
		t, err := srv.topicToCreate(&rt)
		if err == nil {
			err = names.check(ctx, rt.Topic)
		}
		if err == nil {
			err = srv.createTopic(ctx, t, req.ValidateOnly)
		}
		if err != nil {
			donet(rt.Topic, err)
			continue
		}
		names.add(rt.Topic)
		st := donet(rt.Topic, nil)
		if !req.ValidateOnly {
			st.TopicID = t.ID
		}
		st.NumPartitions = t.Partitions
		st.ReplicationFactor = int16(len(srv.brokers()))
		for _, e := range topicConfigEntries(t.Configs) {
			c := kmsg.NewCreateTopicsResponseTopicConfig()
			c.Name, c.Value, c.Source = e.name, &e.value, int8(e.source)
			st.Configs = append(st.Configs, c)
		}
	}
	return resp, nil
}

// topicToCreate checks one requested topic and returns it as it would be
// registered.
func (srv *Server) topicToCreate(rt *kmsg.CreateTopicsRequestTopic) (metadata.Topic, error) {
	if err := validateTopicName(rt.Topic); err != nil {
		return metadata.Topic{}, codeErrorf(kerr.InvalidTopicException, "%v", err)
	}
	if len(rt.ReplicaAssignment) > 0 {
		return metadata.Topic{}, codeErrorf(kerr.InvalidRequest,
			"ReplicaAssignment is not supported: agents place partitions themselves; set NumPartitions instead.")
	}
	partitions := rt.NumPartitions
	switch {
	case partitions == -1:
		partitions = int32(srv.cfg.DefaultPartitions)
	case partitions <= 0:
		return metadata.Topic{}, codeErrorf(kerr.InvalidPartitions,
			"Number of partitions was set to an invalid non-positive value.")
	case int(partitions) > srv.cfg.MaxPartitions:
		return metadata.Topic{}, codeErrorf(kerr.InvalidPartitions,
			"Number of partitions %d is above this cluster's limit of %d (--max-partitions).", partitions, srv.cfg.MaxPartitions)
	}
	if rt.ReplicationFactor == 0 || rt.ReplicationFactor < -1 {
		return metadata.Topic{}, codeErrorf(kerr.InvalidReplicationFactor,
			"Replication factor must be larger than 0, or -1 to use the default value.")
	}
	configs, err := createConfigs(rt.Configs)
	if err != nil {
		return metadata.Topic{}, err
	}
	return newTopic(rt.Topic, partitions, configs), nil
}

// createTopic registers t, or with validateOnly only checks that its name
// is free.
func (srv *Server) createTopic(ctx context.Context, t metadata.Topic, validateOnly bool) error {
	if validateOnly {
		_, err := srv.deps.Store.Topic(ctx, t.Name)
		switch {
		case err == nil:
			return topicExists(t.Name)
		case errors.Is(err, metadata.ErrUnknownTopic):
			return nil
		default:
			return fmt.Errorf("reading topic %s: %w", t.Name, err)
		}
	}
	err := srv.deps.Store.CreateTopic(ctx, t)
	srv.topics.forget(t.Name)
	switch {
	case errors.Is(err, metadata.ErrTopicExists):
		return topicExists(t.Name)
	case err != nil:
		return fmt.Errorf("creating topic %s: %w", t.Name, err)
	}
	srv.log.Info("created topic", "topic", t.Name, "partitions", t.Partitions)
	return nil
}

func topicExists(name string) error {
	return codeErrorf(kerr.TopicAlreadyExists, "Topic '%s' already exists.", name)
}

// collisions finds names that differ from another only by '.' versus '_',
// which Kafka refuses because both become the same metric name. The
// registry is listed once per request, and only if a name has either
// character.
type collisions struct {
	reg    metadata.TopicRegistry
	loaded bool
	byNorm map[string]string // normalized -> name
}

func newCollisions(reg metadata.TopicRegistry) *collisions {
	return &collisions{reg: reg, byNorm: make(map[string]string)}
}

func normalizeTopicName(name string) string { return strings.ReplaceAll(name, ".", "_") }

// check returns INVALID_TOPIC_EXCEPTION if name collides with a topic that
// exists or was created earlier in the request.
func (c *collisions) check(ctx context.Context, name string) error {
	if !strings.ContainsAny(name, "._") {
		return nil
	}
	if !c.loaded {
		ts, err := c.reg.Topics(ctx)
		if err != nil {
			return fmt.Errorf("listing topics: %w", err)
		}
		for _, t := range ts {
			c.byNorm[normalizeTopicName(t.Name)] = t.Name
		}
		c.loaded = true
	}
	if other, ok := c.byNorm[normalizeTopicName(name)]; ok && other != name {
		return codeErrorf(kerr.InvalidTopicException, "Topic '%s' collides with existing topic: %s", name, other)
	}
	return nil
}

// add records a name accepted earlier in the request.
func (c *collisions) add(name string) {
	c.byNorm[normalizeTopicName(name)] = name
}
