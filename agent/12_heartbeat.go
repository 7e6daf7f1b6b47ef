package agent

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Heartbeat: v0-4
//
// Behaviour:
//   - Keeps the member's session; a member not heard from (heartbeat,
//     join, sync or commit) for its session timeout is removed by the
//     coordinator and the group rebalances.
//   - REBALANCE_IN_PROGRESS tells the member to join again;
//     ILLEGAL_GENERATION that it missed a rebalance; UNKNOWN_MEMBER_ID that
//     it was removed; FENCED_INSTANCE_ID that a newer instance took its
//     group.instance.id.
//
// Version notes:
//   - v3: InstanceID. v4: flexible versions.
func (gc *groupCoordinator) handleHeartbeat(ctx context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.HeartbeatRequest)
	resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
	if err := gc.checkGroup(req.Group, false); err != nil {
		resp.ErrorCode = errCode(err)
		return resp, nil
	}
	var herr error
	err := gc.call(ctx, req.Group, func(a *groupActor) error {
		herr = a.g.Heartbeat(time.Now(), req.MemberID, req.InstanceID, req.Generation)
		return nil
	})
	if err == nil {
		err = herr
	}
	resp.ErrorCode = errCode(err)
	return resp, nil
}
