package agent

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/metadata"
	"github.com/sluicehq/sluice/metadata/group"
)

// OffsetFetch: v0-8
//
// Behaviour:
//   - Answers each requested partition with its committed offset, or -1
//     (and no error) when there is none: a group nobody ever committed for,
//     an unknown topic, a partition without a commit.
//   - Null topics (v2+) ask for every committed partition of the group.
//   - Offsets of a group without members expire offsets.retention after
//     the group emptied (or after the commit, if later); the coordinator
//     applies it when it loads the group.
//
// Version notes:
//   - v0-1: errors are per partition. v2: top-level ErrorCode, null topics.
//   - v3: ThrottleMillis. v5: LeaderEpoch. v6: flexible versions.
//   - v7: RequireStable (always stable: there are no transactions).
//   - v8: several groups in one request, each answered apart (KIP-709).
func (gc *groupCoordinator) handleOffsetFetch(ctx context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.OffsetFetchRequest)
	resp := req.ResponseKind().(*kmsg.OffsetFetchResponse)
	if req.Version >= 8 {
		for _, rg := range req.Groups {
			sg := kmsg.NewOffsetFetchResponseGroup()
			sg.Group = rg.Group
			var parts []metadata.TopicPartition
			if rg.Topics != nil {
				parts = []metadata.TopicPartition{}
				for _, rt := range rg.Topics {
					for _, p := range rt.Partitions {
						parts = append(parts, metadata.TopicPartition{Topic: rt.Topic, Partition: p})
					}
				}
			}
			got, err := gc.fetchOffsets(ctx, rg.Group, parts)
			sg.ErrorCode = errCode(err)
			if err == nil {
				for _, t := range offsetTopics(parts, got) {
					st := kmsg.NewOffsetFetchResponseGroupTopic()
					st.Topic = t.topic
					for _, o := range t.offsets {
						sp := kmsg.NewOffsetFetchResponseGroupTopicPartition()
						sp.Partition, sp.Offset, sp.LeaderEpoch, sp.Metadata = o.Partition, o.Offset, o.LeaderEpoch, o.Metadata
						st.Partitions = append(st.Partitions, sp)
					}
					sg.Topics = append(sg.Topics, st)
				}
			}
			resp.Groups = append(resp.Groups, sg)
		}
		return resp, nil
	}

	var parts []metadata.TopicPartition
	if req.Topics != nil || req.Version < 2 {
		parts = []metadata.TopicPartition{}
		for _, rt := range req.Topics {
			for _, p := range rt.Partitions {
				parts = append(parts, metadata.TopicPartition{Topic: rt.Topic, Partition: p})
			}
		}
	}
	got, err := gc.fetchOffsets(ctx, req.Group, parts)
	if err != nil && req.Version >= 2 {
		resp.ErrorCode = errCode(err)
		return resp, nil
	}
	for _, t := range offsetTopics(parts, got) {
		st := kmsg.NewOffsetFetchResponseTopic()
		st.Topic = t.topic
		for _, o := range t.offsets {
			sp := kmsg.NewOffsetFetchResponseTopicPartition()
			sp.Partition, sp.Offset, sp.LeaderEpoch, sp.Metadata = o.Partition, o.Offset, o.LeaderEpoch, o.Metadata
			if err != nil {
				sp.Offset, sp.LeaderEpoch, sp.ErrorCode = -1, -1, errCode(err)
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}

// fetchOffsets reads the group's committed offsets of parts (all if nil)
// through its actor, which applies offsets retention when it loads it.
func (gc *groupCoordinator) fetchOffsets(ctx context.Context, id string, parts []metadata.TopicPartition) ([]metadata.CommittedOffset, error) {
	if err := gc.checkGroup(id, true); err != nil {
		return nil, err
	}
	var got []metadata.CommittedOffset
	err := gc.call(ctx, id, func(a *groupActor) error {
		if parts != nil && len(parts) == 0 {
			return nil
		}
		sctx, cancel := storeCtx()
		defer cancel()
		var err error
		if got, err = a.gc.store.FetchOffsets(sctx, id, parts); err != nil {
			return fmt.Errorf("fetching offsets of group %s: %w: %w", id, group.ErrCoordinatorUnavailable, err)
		}
		return nil
	})
	return got, err
}

// fetchedTopic is one topic of an OffsetFetch answer.
type fetchedTopic struct {
	topic   string
	offsets []metadata.CommittedOffset
}

// offsetTopics answers parts, in request order, from what was committed:
// -1 for a partition without a commit. With parts nil it is every commit.
func offsetTopics(parts []metadata.TopicPartition, got []metadata.CommittedOffset) []fetchedTopic {
	var out []fetchedTopic
	add := func(o metadata.CommittedOffset) {
		if n := len(out); n == 0 || out[n-1].topic != o.Topic {
			out = append(out, fetchedTopic{topic: o.Topic})
		}
		out[len(out)-1].offsets = append(out[len(out)-1].offsets, o)
	}
	if parts == nil {
		for _, o := range got {
			add(o)
		}
		return out
	}
	byTP := make(map[metadata.TopicPartition]metadata.CommittedOffset, len(got))
	for _, o := range got {
		byTP[metadata.TopicPartition{Topic: o.Topic, Partition: o.Partition}] = o
	}
	noMetadata := ""
	for _, tp := range parts {
		o, ok := byTP[tp]
		if !ok {
			o = metadata.CommittedOffset{Topic: tp.Topic, Partition: tp.Partition, Offset: -1, LeaderEpoch: -1, Metadata: &noMetadata}
		}
		add(o)
	}
	return out
}
