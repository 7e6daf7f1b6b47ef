package agent

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/metadata/group"
)

// SyncGroup: v0-5
//
// Behaviour:
//   - The leader's assignments are saved with the generation before any
//     member gets its own; a follower that syncs first waits for them (on
//     a goroutine tracked by the connection, answered NOT_COORDINATOR if
//     the client leaves or the agent drains first).
//   - A member of a "consumer" group left out by the leader gets an empty
//     ConsumerMemberAssignment rather than no bytes, which some clients
//     cannot decode (kfake does the same).
//
// Version notes:
//   - v3: InstanceID. v4: flexible versions.
//   - v5: ProtocolType and Protocol, checked against the group's
//     (INCONSISTENT_GROUP_PROTOCOL) and returned.
func (gc *groupCoordinator) handleSyncGroup(ctx context.Context, s *slot) {
	req := s.req.kreq.(*kmsg.SyncGroupRequest)
	if err := gc.checkGroup(req.Group, false); err != nil {
		s.respond(syncResponse(req, group.SyncResult{Err: err}), nil)
		return
	}
	sr := group.SyncRequest{
		MemberID:     req.MemberID,
		InstanceID:   req.InstanceID,
		Generation:   req.Generation,
		ProtocolType: req.ProtocolType,
		Protocol:     req.Protocol,
	}
	if len(req.GroupAssignment) > 0 {
		sr.Assignments = make(map[string][]byte, len(req.GroupAssignment))
		for _, ga := range req.GroupAssignment {
			sr.Assignments[ga.MemberID] = ga.MemberAssignment
		}
	}
	c := s.req.conn
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		s.respond(syncResponse(req, gc.sync(ctx, req.Group, sr)), nil)
	}()
}

// sync runs the sync on the group's actor and waits for its answer.
func (gc *groupCoordinator) sync(ctx context.Context, id string, sr group.SyncRequest) group.SyncResult {
	answer := make(chan group.SyncResult, 1)
	err := gc.call(ctx, id, func(a *groupActor) error {
		a.g.Sync(time.Now(), sr, func(r group.SyncResult) { answer <- r })
		return nil
	})
	if err != nil {
		return group.SyncResult{Err: err}
	}
	select {
	case r := <-answer:
		return r
	case <-ctx.Done():
		return group.SyncResult{Err: group.ErrNotCoordinator}
	}
}

// emptyConsumerAssignment is an encoded ConsumerMemberAssignment with no
// partitions.
var emptyConsumerAssignment = new(kmsg.ConsumerMemberAssignment).AppendTo(nil)

func syncResponse(req *kmsg.SyncGroupRequest, r group.SyncResult) *kmsg.SyncGroupResponse {
	resp := req.ResponseKind().(*kmsg.SyncGroupResponse)
	resp.ErrorCode = errCode(r.Err)
	if r.Err != nil {
		resp.MemberAssignment = []byte{}
		return resp
	}
	resp.ProtocolType, resp.Protocol = &r.ProtocolType, &r.Protocol
	resp.MemberAssignment = r.Assignment
	if len(r.Assignment) == 0 {
		resp.MemberAssignment = []byte{}
		if r.ProtocolType == "consumer" {
			resp.MemberAssignment = emptyConsumerAssignment
		}
	}
	return resp
}
