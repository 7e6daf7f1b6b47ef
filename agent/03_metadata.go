package agent

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/metadata"
)

// Metadata: v0-12
//
// Behaviour:
//   - Lists the live agents as brokers and every requested topic (all of
//     them for a null list, or an empty one before v1). A client whose
//     client id names a zone (sluice_az=ZONE and the like; see fleet.go)
//     is told only of the agents in that zone, if any is there.
//   - Every agent serves every partition; leadership is spread over the
//     agents only so that clients spread their load. Replicas and ISR list
//     the agents whatever replication factor was asked for.
//   - Unknown topics are created when auto-creation is enabled on the agent
//     and allowed by the request (always before v4, as Kafka does);
//     __consumer_offsets is created as the internal topic it is.
//   - IsInternal marks __consumer_offsets (internal_topics.go).
//
// Version notes:
//   - v1: ControllerID, IsInternal, Rack. v2: ClusterID. v4:
//     AllowAutoTopicCreation. v5: OfflineReplicas. v7: LeaderEpoch.
//   - v8-10: authorized operations (not computed: left unset). v9: flexible.
//   - v10: topic IDs. v12: topics may be named by ID alone.
func (srv *Server) handleMetadata(ctx context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.MetadataRequest)
	resp := req.ResponseKind().(*kmsg.MetadataResponse)

	brokers := inZone(srv.brokers(), clientZone(r.clientID))
	for _, b := range brokers {
		rb := kmsg.NewMetadataResponseBroker()
		rb.NodeID, rb.Host, rb.Port = b.nodeID, b.host, b.port
		resp.Brokers = append(resp.Brokers, rb)
	}
	cid := clusterID
	resp.ClusterID = &cid
	resp.ControllerID = controller(srv.self, brokers)

	autoCreate := srv.cfg.AutoCreateTopics && (req.Version < 4 || req.AllowAutoTopicCreation)
	topics, err := srv.requestedTopics(ctx, req, autoCreate)
	if err != nil {
		return nil, err
	}
	for _, t := range topics {
		resp.Topics = append(resp.Topics, srv.metadataTopic(t, brokers))
	}
	return resp, nil
}

// namedTopic is a requested topic, or why it cannot be listed.
type namedTopic struct {
	name  string
	id    [16]byte
	topic metadata.Topic
	err   error
}

// requestedTopics resolves the request's topics, creating missing ones when
// allowed. Only a failure to reach the registry is returned as an error.
func (srv *Server) requestedTopics(ctx context.Context, req *kmsg.MetadataRequest, autoCreate bool) ([]namedTopic, error) {
	all := req.Topics == nil || (req.Version == 0 && len(req.Topics) == 0)
	if all || needsIDLookup(req) {
		ts, err := srv.topics.all(ctx)
		if err != nil {
			return nil, err
		}
		if all {
			out := make([]namedTopic, 0, len(ts))
			for _, t := range ts {
				out = append(out, namedTopic{name: t.Name, id: t.ID, topic: t})
			}
			return out, nil
		}
	}
	out := make([]namedTopic, 0, len(req.Topics))
	for _, rt := range req.Topics {
		if rt.Topic == nil {
			out = append(out, srv.topicByID(ctx, rt.TopicID))
			continue
		}
		out = append(out, srv.topicByName(ctx, *rt.Topic, autoCreate))
	}
	return out, nil
}

func needsIDLookup(req *kmsg.MetadataRequest) bool {
	for _, rt := range req.Topics {
		if rt.Topic == nil {
			return true
		}
	}
	return false
}

func (srv *Server) topicByID(ctx context.Context, id [16]byte) namedTopic {
	ts, err := srv.topics.all(ctx)
	if err != nil {
		return namedTopic{id: id, err: err}
	}
	for _, t := range ts {
		if t.ID == id {
			return namedTopic{name: t.Name, id: id, topic: t}
		}
	}
	return namedTopic{id: id, err: kerr.UnknownTopicID}
}

func (srv *Server) topicByName(ctx context.Context, name string, autoCreate bool) namedTopic {
	t, err := srv.topics.get(ctx, name)
	switch {
	case errors.Is(err, metadata.ErrUnknownTopic) && autoCreate && isInternalTopic(name):
		t, err = srv.ensureOffsetsTopic(ctx)
	case errors.Is(err, metadata.ErrUnknownTopic) && autoCreate:
		t, err = srv.autoCreate(ctx, name)
	}
	return namedTopic{name: name, id: t.ID, topic: t, err: err}
}

// autoCreate creates a topic a client asked for. Another agent may create
// it at the same moment; either way the topic then exists.
func (srv *Server) autoCreate(ctx context.Context, name string) (metadata.Topic, error) {
	if err := validateTopicName(name); err != nil {
		return metadata.Topic{}, kerr.InvalidTopicException
	}
	t := newTopic(name, int32(srv.cfg.DefaultPartitions), nil)
	err := srv.deps.Store.CreateTopic(ctx, t)
	srv.topics.forget(name)
	if err != nil && !errors.Is(err, metadata.ErrTopicExists) {
		return metadata.Topic{}, err
	}
	if err == nil {
		srv.log.Info("created topic on request", "topic", name, "partitions", t.Partitions)
	}
	return srv.topics.get(ctx, name)
}

func (srv *Server) metadataTopic(nt namedTopic, brokers []broker) kmsg.MetadataResponseTopic {
	rt := kmsg.NewMetadataResponseTopic()
	if nt.name != "" {
		name := nt.name
		rt.Topic = &name
	}
	rt.TopicID = nt.id
	rt.IsInternal = isInternalTopic(nt.name)
	if nt.err != nil {
		rt.ErrorCode = errCode(nt.err)
		return rt
	}
	replicas := make([]int32, len(brokers))
	for i, b := range brokers {
		replicas[i] = b.nodeID
	}
	for i := range nt.topic.Partitions {
		rp := kmsg.NewMetadataResponseTopicPartition()
		rp.Partition = i
		rp.Leader = srv.leader(metadata.Partition{Topic: nt.topic.ID, Index: i}, brokers)
		rp.LeaderEpoch = 0
		rp.Replicas, rp.ISR = replicas, replicas
		rt.Partitions = append(rt.Partitions, rp)
	}
	return rt
}

// brokers lists the live agents, by node id; see fleet.go.
func (srv *Server) brokers() []broker { return srv.fleet.brokers() }

// leader picks the agent clients should send p's traffic to, of those
// listed: by rendezvous hashing, so every agent that lists the same agents
// names the same leader, and a change of agents moves few partitions.
func (srv *Server) leader(p metadata.Partition, brokers []broker) int32 {
	return rendezvous(partitionKey(p), brokers).nodeID
}

// controller is the ControllerID of a Metadata answer listing brokers:
// this agent, unless the client's zone leaves it out.
func controller(self broker, brokers []broker) int32 {
	for _, b := range brokers {
		if b.nodeID == self.nodeID {
			return self.nodeID
		}
	}
	return brokers[0].nodeID
}
