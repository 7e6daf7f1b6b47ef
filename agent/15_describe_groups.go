package agent

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/metadata/group"
)

// DescribeGroups: v0-5
//
// Behaviour:
//   - Each group is described by its coordinator's current state. As in
//     Kafka, members' metadata and assignments, and the protocol, are
//     shown only for a Stable group.
//   - A group that does not exist is described as "Dead" with no error; a
//     group with committed offsets only as "Empty" with no protocol type.
//   - Authorized operations are not computed (left unset).
//
// Version notes:
//   - v1: ThrottleMillis. v3: IncludeAuthorizedOperations.
//   - v4: members' InstanceID. v5: flexible versions.
func (gc *groupCoordinator) handleDescribeGroups(ctx context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.DescribeGroupsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeGroupsResponse)
	for _, id := range req.Groups {
		sg := kmsg.NewDescribeGroupsResponseGroup()
		sg.Group = id
		d, err := gc.describe(ctx, id)
		sg.ErrorCode = errCode(err)
		if err == nil {
			sg.State, sg.ProtocolType, sg.Protocol = d.state, d.ProtocolType, d.Protocol
			for _, m := range d.Members {
				sm := kmsg.NewDescribeGroupsResponseGroupMember()
				sm.MemberID, sm.InstanceID, sm.ClientID, sm.ClientHost = m.ID, m.InstanceID, m.ClientID, m.ClientHost
				sm.ProtocolMetadata, sm.MemberAssignment = m.Metadata, m.Assignment
				sg.Members = append(sg.Members, sm)
			}
		}
		resp.Groups = append(resp.Groups, sg)
	}
	return resp, nil
}

// groupView is a group as DescribeGroups and ListGroups show it.
type groupView struct {
	group.Description
	state  string // Kafka's name, "Dead" for no group
	exists bool
}

// describe reads the group on its actor. A group without saved state
// exists if it has committed offsets.
func (gc *groupCoordinator) describe(ctx context.Context, id string) (groupView, error) {
	if err := gc.checkGroup(id, true); err != nil {
		return groupView{}, err
	}
	var v groupView
	err := gc.call(ctx, id, func(a *groupActor) error {
		v = groupView{Description: a.g.Describe(), exists: true}
		v.state = v.Description.State.String()
		if a.g.Stored() || len(v.Members) > 0 {
			return nil
		}
		sctx, cancel := storeCtx()
		defer cancel()
		offsets, err := a.gc.store.FetchOffsets(sctx, id, nil)
		if err != nil {
			return fmt.Errorf("fetching offsets of group %s: %w: %w", id, group.ErrCoordinatorUnavailable, err)
		}
		if len(offsets) == 0 {
			v.state, v.exists = "Dead", false
		}
		return nil
	})
	return v, err
}
