package agent

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/metadata"
	"github.com/sluicehq/sluice/metadata/group"
)

// OffsetDelete: v0
//
// Behaviour:
//   - Deletes committed offsets of a group. A group without members loses
//     any it is asked to; a "consumer" group with members only those of
//     topics no member subscribes to (GROUP_SUBSCRIBED_TO_TOPIC for the
//     others); any other group with members none (NON_EMPTY_GROUP).
//   - GROUP_ID_NOT_FOUND for a group with neither state nor offsets;
//     UNKNOWN_TOPIC_OR_PARTITION for a partition that does not exist.
func (gc *groupCoordinator) handleOffsetDelete(ctx context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.OffsetDeleteRequest)
	resp := req.ResponseKind().(*kmsg.OffsetDeleteResponse)
	if err := gc.checkGroup(req.Group, false); err != nil {
		resp.ErrorCode = errCode(err)
		return resp, nil
	}
	var parts []metadata.TopicPartition
	for _, rt := range req.Topics {
		st := kmsg.NewOffsetDeleteResponseTopic()
		st.Topic = rt.Topic
		topic, terr := gc.srv.topics.get(ctx, rt.Topic)
		for _, rp := range rt.Partitions {
			sp := kmsg.NewOffsetDeleteResponseTopicPartition()
			sp.Partition = rp.Partition
			if _, err := partitionOf(topic, terr, rp.Partition); err != nil {
				sp.ErrorCode = errCode(err)
			} else {
				parts = append(parts, metadata.TopicPartition{Topic: rt.Topic, Partition: rp.Partition})
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	var subscribed map[string]bool
	err := gc.call(ctx, req.Group, func(a *groupActor) error {
		sctx, cancel := storeCtx()
		defer cancel()
		if !a.g.Stored() && a.g.State() == group.Empty {
			offsets, err := a.gc.store.FetchOffsets(sctx, req.Group, nil)
			if err != nil {
				return fmt.Errorf("fetching offsets of group %s: %w: %w", req.Group, group.ErrCoordinatorUnavailable, err)
			}
			if len(offsets) == 0 {
				return metadata.ErrUnknownGroup
			}
		}
		if a.g.State() != group.Empty {
			var ok bool
			if subscribed, ok = subscribedTopics(a.g); !ok {
				return metadata.ErrGroupNotEmpty
			}
		}
		var deletable []metadata.TopicPartition
		for _, tp := range parts {
			if !subscribed[tp.Topic] {
				deletable = append(deletable, tp)
			}
		}
		if err := a.gc.store.DeleteOffsets(sctx, req.Group, deletable); err != nil {
			return fmt.Errorf("deleting offsets of group %s: %w: %w", req.Group, group.ErrCoordinatorUnavailable, err)
		}
		return nil
	})
	if err != nil {
		resp.ErrorCode, resp.Topics = errCode(err), nil
		return resp, nil
	}
	for i := range resp.Topics {
		for j := range resp.Topics[i].Partitions {
			if sp := &resp.Topics[i].Partitions[j]; sp.ErrorCode == 0 && subscribed[resp.Topics[i].Topic] {
				sp.ErrorCode = kerr.GroupSubscribedToTopic.Code
			}
		}
	}
	return resp, nil
}

// subscribedTopics is the union of a "consumer" group's members'
// subscriptions; ok is false for another protocol type or metadata that
// does not decode, whose topics cannot be known.
func subscribedTopics(g *group.Group) (map[string]bool, bool) {
	protocolType, mds, ok := g.Subscriptions()
	if !ok || protocolType != "consumer" {
		return nil, false
	}
	topics := make(map[string]bool)
	for _, md := range mds {
		var m kmsg.ConsumerMemberMetadata
		if err := m.ReadFrom(md); err != nil {
			return nil, false
		}
		for _, t := range m.Topics {
			topics[t] = true
		}
	}
	return topics, true
}
