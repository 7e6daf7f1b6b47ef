package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/metadata"
	"github.com/sluicehq/sluice/metadata/group"
)

// OffsetCommit: v0-8
//
// Behaviour:
//   - A member commits at its generation: a member the group does not know
//     gets UNKNOWN_MEMBER_ID, a stale generation ILLEGAL_GENERATION, and a
//     group completing a rebalance REBALANCE_IN_PROGRESS. A commit keeps
//     the member's session.
//   - Generation -1 with no member is a commit from outside the group
//     protocol (admin tools, assign-mode consumers): taken only by a group
//     without members, and it creates the group if there is none.
//   - The store checks the generation in the same atomic step as the write,
//     so after a failover a member of the old coordinator cannot commit.
//   - Partitions of unknown topics get UNKNOWN_TOPIC_OR_PARTITION; metadata
//     over 4096 bytes OFFSET_METADATA_TOO_LARGE. The rest commit together.
//
// Version notes:
//   - v1: Generation, MemberID, a per-partition timestamp (ignored: the
//     commit time is the agent's).
//   - v2-4: RetentionTimeMillis (ignored: offsets.retention applies).
//   - v6: LeaderEpoch. v7: InstanceID. v8: flexible versions.
func (gc *groupCoordinator) handleOffsetCommit(ctx context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.OffsetCommitRequest)
	resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
	gerr := gc.checkGroup(req.Group, true)
	now := time.Now()
	var (
		offsets []metadata.CommittedOffset
		waiting []*kmsg.OffsetCommitResponseTopicPartition // answered with the commit
	)
	for _, rt := range req.Topics {
		st := kmsg.NewOffsetCommitResponseTopic()
		st.Topic = rt.Topic
		var (
			topic metadata.Topic
			terr  error
		)
		if gerr == nil {
			topic, terr = gc.srv.topics.get(ctx, rt.Topic)
		}
		for _, rp := range rt.Partitions {
			sp := kmsg.NewOffsetCommitResponseTopicPartition()
			sp.Partition = rp.Partition
			_, perr := partitionOf(topic, terr, rp.Partition)
			switch {
			case gerr != nil:
				sp.ErrorCode = errCode(gerr)
			case perr != nil:
				sp.ErrorCode = errCode(perr)
			case rp.Metadata != nil && len(*rp.Metadata) > offsetMetadataMaxBytes:
				sp.ErrorCode = kerr.OffsetMetadataTooLarge.Code
			default:
				epoch := int32(-1)
				if req.Version >= 6 {
					epoch = rp.LeaderEpoch
				}
				offsets = append(offsets, metadata.CommittedOffset{Topic: rt.Topic, Partition: rp.Partition,
					Offset: rp.Offset, LeaderEpoch: epoch, Metadata: rp.Metadata, CommitTime: now})
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	for i := range resp.Topics {
		for j := range resp.Topics[i].Partitions {
			if sp := &resp.Topics[i].Partitions[j]; sp.ErrorCode == 0 {
				waiting = append(waiting, sp)
			}
		}
	}
	if len(offsets) == 0 {
		return resp, nil
	}
	code := errCode(gc.commit(ctx, req, offsets))
	for _, sp := range waiting {
		sp.ErrorCode = code
	}
	return resp, nil
}

// commit checks the member on the group's actor and commits at its
// generation.
func (gc *groupCoordinator) commit(ctx context.Context, req *kmsg.OffsetCommitRequest, offsets []metadata.CommittedOffset) error {
	var cerr error
	err := gc.call(ctx, req.Group, func(a *groupActor) error {
		gen, err := a.g.CommitGeneration(time.Now(), req.MemberID, req.InstanceID, req.Generation)
		if err != nil {
			cerr = err
			return nil
		}
		sctx, cancel := storeCtx()
		defer cancel()
		if err := a.gc.store.CommitOffsets(sctx, req.Group, gen, offsets); err != nil {
			if notCoordinator(err) {
				return err
			}
			return fmt.Errorf("committing offsets of group %s: %w: %w", req.Group, group.ErrCoordinatorUnavailable, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return cerr
}
