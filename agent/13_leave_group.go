package agent

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// LeaveGroup: v0-5
//
// Behaviour:
//   - Each leaving member is removed at once and the group rebalances (to
//     Empty, with a new generation, when it was the last).
//   - A static member may leave by instance id alone; with a member id too,
//     that id must be the instance's current one (FENCED_INSTANCE_ID).
//   - Members are answered apart; the top-level error is set only when the
//     request could not reach the group.
//
// Version notes:
//   - v0-2: one MemberID, whose error is the top-level error.
//   - v3: several members, by member or instance id (KIP-345).
//   - v4: flexible versions. v5: Reason (ignored).
func (gc *groupCoordinator) handleLeaveGroup(ctx context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.LeaveGroupRequest)
	resp := req.ResponseKind().(*kmsg.LeaveGroupResponse)
	leaving := req.Members
	if req.Version < 3 {
		leaving = []kmsg.LeaveGroupRequestMember{{MemberID: req.MemberID}}
	}
	if err := gc.checkGroup(req.Group, false); err != nil {
		resp.ErrorCode = errCode(err)
		return resp, nil
	}
	err := gc.call(ctx, req.Group, func(a *groupActor) error {
		resp.Members = resp.Members[:0]
		for _, rm := range leaving {
			sm := kmsg.NewLeaveGroupResponseMember()
			id, err := a.g.Leave(time.Now(), rm.MemberID, rm.InstanceID)
			sm.MemberID, sm.InstanceID, sm.ErrorCode = id, rm.InstanceID, errCode(err)
			resp.Members = append(resp.Members, sm)
		}
		return nil
	})
	switch {
	case err != nil:
		resp.ErrorCode, resp.Members = errCode(err), nil
	case req.Version < 3:
		resp.ErrorCode, resp.Members = resp.Members[0].ErrorCode, nil
	}
	return resp, nil
}
