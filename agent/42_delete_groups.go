package agent

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/metadata"
	"github.com/sluicehq/sluice/metadata/group"
)

// DeleteGroups: v0-2
//
// Behaviour:
//   - Deletes a group without members with all its committed offsets.
//     NON_EMPTY_GROUP if it has members (the store checks this too, so a
//     delete cannot race a join saved by another coordinator);
//     GROUP_ID_NOT_FOUND if there is neither state nor offsets.
//
// Version notes:
//   - v1: ThrottleMillis. v2: flexible versions.
func (gc *groupCoordinator) handleDeleteGroups(ctx context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.DeleteGroupsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteGroupsResponse)
	for _, id := range req.Groups {
		sg := kmsg.NewDeleteGroupsResponseGroup()
		sg.Group = id
		sg.ErrorCode = errCode(gc.deleteGroup(ctx, id))
		resp.Groups = append(resp.Groups, sg)
	}
	return resp, nil
}

func (gc *groupCoordinator) deleteGroup(ctx context.Context, id string) error {
	if err := gc.checkGroup(id, true); err != nil {
		return err
	}
	var derr error
	err := gc.call(ctx, id, func(a *groupActor) error {
		if a.g.State() != group.Empty {
			derr = metadata.ErrGroupNotEmpty
			return nil
		}
		sctx, cancel := storeCtx()
		defer cancel()
		err := a.gc.store.DeleteGroup(sctx, id)
		switch {
		case err == nil:
			gc.log.Info("deleted group", "group", id)
		case errors.Is(err, metadata.ErrUnknownGroup):
			derr = err
		case errors.Is(err, metadata.ErrGroupNotEmpty):
			// Another coordinator gave it members since we loaded it.
			return fmt.Errorf("deleting group %s: %w", id, group.ErrNotCoordinator)
		default:
			return fmt.Errorf("deleting group %s: %w: %w", id, group.ErrCoordinatorUnavailable, err)
		}
		a.g = group.New(id, a.gc.cfg)
		return nil
	})
	if err != nil {
		return err
	}
	return derr
}
