package agent

import (
	"context"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/metadata"
	"github.com/sluicehq/sluice/metadata/group"
)

// JoinGroup: v0-9
//
// Behaviour:
//   - The classic protocol as Kafka runs it (metadata/group has the state
//     machine): a join waits until every member has joined again or the
//     rebalance timeout ends, then each member gets the new generation and
//     the leader gets every member's metadata to assign from.
//   - Metadata and assignments are opaque bytes, so any client-side
//     assignor works (range, roundrobin, sticky, cooperative-sticky).
//   - The answer waits on a goroutine tracked by the connection, so the
//     connection keeps reading; if the client leaves or the agent drains
//     first, the join is answered NOT_COORDINATOR.
//
// Version notes:
//   - v0: no rebalance timeout; the session timeout is used.
//   - v4: a new dynamic member is given its id with MEMBER_ID_REQUIRED and
//     joins again with it (KIP-394); before v4 it joins at once.
//   - v5: InstanceID, static membership (KIP-345). v6: flexible versions.
//   - v7: ProtocolType in the response. v8: Reason (logged nowhere).
//   - v9: SkipAssignment for a static leader that joined again (KIP-814).
func (gc *groupCoordinator) handleJoinGroup(ctx context.Context, s *slot) {
	req := s.req.kreq.(*kmsg.JoinGroupRequest)
	if err := gc.checkGroup(req.Group, false); err != nil {
		s.respond(joinResponse(req, group.JoinResult{Err: err, Generation: -1}), nil)
		return
	}
	jr := group.JoinRequest{
		MemberID:             req.MemberID,
		InstanceID:           req.InstanceID,
		ClientID:             s.req.clientID,
		ClientHost:           clientHost(s.req),
		ProtocolType:         req.ProtocolType,
		SessionTimeout:       time.Duration(req.SessionTimeoutMillis) * time.Millisecond,
		RebalanceTimeout:     time.Duration(req.RebalanceTimeoutMillis) * time.Millisecond,
		RequireKnownMemberID: req.Version >= 4,
		SkipAssignment:       req.Version >= 9,
	}
	if req.Version == 0 {
		jr.RebalanceTimeout = jr.SessionTimeout
	}
	for _, p := range req.Protocols {
		jr.Protocols = append(jr.Protocols, metadata.GroupProtocol{Name: p.Name, Metadata: p.Metadata})
	}
	c := s.req.conn
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		s.respond(joinResponse(req, gc.join(ctx, req.Group, jr)), nil)
	}()
}

// join runs the join on the group's actor and waits for its answer.
func (gc *groupCoordinator) join(ctx context.Context, id string, jr group.JoinRequest) group.JoinResult {
	answer := make(chan group.JoinResult, 1)
	err := gc.call(ctx, id, func(a *groupActor) error {
		a.g.Join(time.Now(), jr, func(r group.JoinResult) { answer <- r })
		return nil
	})
	if err != nil {
		return group.JoinResult{Err: err, Generation: -1}
	}
	select {
	case r := <-answer:
		return r
	case <-ctx.Done():
		return group.JoinResult{Err: group.ErrNotCoordinator, Generation: -1}
	}
}

func joinResponse(req *kmsg.JoinGroupRequest, r group.JoinResult) *kmsg.JoinGroupResponse {
	resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
	resp.ErrorCode = errCode(r.Err)
	resp.Generation, resp.MemberID = r.Generation, r.MemberID
	if r.Err != nil {
		return resp
	}
	resp.LeaderID, resp.SkipAssignment = r.Leader, r.SkipAssignment
	resp.ProtocolType, resp.Protocol = &r.ProtocolType, &r.Protocol
	for _, m := range r.Members {
		rm := kmsg.NewJoinGroupResponseMember()
		rm.MemberID, rm.InstanceID, rm.ProtocolMetadata = m.ID, m.InstanceID, m.Metadata
		resp.Members = append(resp.Members, rm)
	}
	return resp
}

// clientHost is the client's address as Kafka shows it in DescribeGroups.
func clientHost(r *request) string {
	addr := r.conn.nc.RemoteAddr().String()
	if host, _, err := net.SplitHostPort(addr); err == nil {
		addr = host
	}
	return "/" + addr
}
