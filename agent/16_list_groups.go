package agent

import (
	"context"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/metadata"
	"github.com/sluicehq/sluice/metadata/group"
)

// ListGroups: v0-4
//
// Behaviour:
//   - Lists the groups this agent coordinates: every group with saved state
//     or committed offsets, those with committed offsets only as "Empty"
//     with no protocol type.
//   - A group loaded on this agent shows its current state; others the
//     state last saved. Empty groups are loaded first, so that offsets
//     retention has removed what expired before they are listed.
//
// Version notes:
//   - v1: ThrottleMillis. v3: flexible versions.
//   - v4: StatesFilter (KIP-518), matched without regard to case.
func (gc *groupCoordinator) handleListGroups(ctx context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.ListGroupsRequest)
	resp := req.ResponseKind().(*kmsg.ListGroupsResponse)
	sums, err := gc.listGroups(ctx)
	if err != nil {
		resp.ErrorCode = errCode(err)
		return resp, nil
	}
	for _, s := range sums {
		if len(req.StatesFilter) > 0 && !containsFold(req.StatesFilter, s.State) {
			continue
		}
		sg := kmsg.NewListGroupsResponseGroup()
		sg.Group, sg.ProtocolType, sg.GroupState = s.Group, s.ProtocolType, s.State
		resp.Groups = append(resp.Groups, sg)
	}
	return resp, nil
}

// listGroups lists the groups this agent coordinates as they are now.
func (gc *groupCoordinator) listGroups(ctx context.Context) ([]metadata.GroupSummary, error) {
	sums, err := gc.store.ListGroups(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing groups: %w: %w", group.ErrCoordinatorUnavailable, err)
	}
	live := gc.live()
	touched := false
	for _, s := range sums {
		if s.State == metadata.GroupStateEmpty && !live[s.Group] && gc.coordinates(s.Group) {
			if err := gc.call(ctx, s.Group, func(*groupActor) error { return nil }); err != nil {
				return nil, err
			}
			touched = true
		}
	}
	if touched {
		if sums, err = gc.store.ListGroups(ctx); err != nil {
			return nil, fmt.Errorf("listing groups: %w: %w", group.ErrCoordinatorUnavailable, err)
		}
	}
	live = gc.live()
	out := sums[:0]
	for _, s := range sums {
		if !gc.coordinates(s.Group) {
			continue
		}
		if live[s.Group] {
			v, err := gc.describe(ctx, s.Group)
			if err != nil {
				return nil, err
			}
			if !v.exists {
				continue
			}
			s.State = v.state
			if v.ProtocolType != "" {
				s.ProtocolType = v.ProtocolType
			}
		}
		out = append(out, s)
	}
	return out, nil
}

func (gc *groupCoordinator) coordinates(id string) bool {
	return gc.srv.coordinator(id).nodeID == gc.srv.self.nodeID
}

func containsFold(ss []string, s string) bool {
	for _, x := range ss {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
