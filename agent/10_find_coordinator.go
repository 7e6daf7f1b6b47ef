package agent

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// FindCoordinator: v0-4
//
// Behaviour:
//   - A group key is answered with the agent that coordinates the group
//     (srv.coordinator): every agent gives the same answer.
//   - As in Kafka, the first group key creates the internal topic
//     __consumer_offsets (internal_topics.go); until it can be created the
//     answer is COORDINATOR_NOT_AVAILABLE, which clients retry.
//   - Transactions are not supported, so a transactional key is refused
//     with TRANSACTIONAL_ID_AUTHORIZATION_FAILED, as InitProducerID refuses
//     a transactional id; any other key type is INVALID_REQUEST.
//
// Version notes:
//   - v1: CoordinatorType, ErrorMessage. v3: flexible versions.
//   - v4: several keys in one request (KIP-699), each answered apart.
func (srv *Server) handleFindCoordinator(ctx context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.FindCoordinatorRequest)
	resp := req.ResponseKind().(*kmsg.FindCoordinatorResponse)
	keys := req.CoordinatorKeys
	if req.Version < 4 {
		keys = []string{req.CoordinatorKey}
	}
	for _, key := range keys {
		sc := kmsg.NewFindCoordinatorResponseCoordinator()
		sc.Key = key
		switch req.CoordinatorType {
		case 0:
			if _, err := srv.ensureOffsetsTopic(ctx); err != nil {
				srv.log.Warn("finding a coordinator", "err", err)
				sc.ErrorCode = kerr.CoordinatorNotAvailable.Code
				break
			}
			b := srv.coordinator(key)
			sc.NodeID, sc.Host, sc.Port = b.nodeID, b.host, b.port
		case 1:
			sc.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
		default:
			sc.ErrorCode = kerr.InvalidRequest.Code
		}
		if sc.ErrorCode != 0 {
			sc.NodeID, sc.Port = -1, -1
			msg := kerr.ErrorForCode(sc.ErrorCode).Error()
			sc.ErrorMessage = &msg
		}
		resp.Coordinators = append(resp.Coordinators, sc)
	}
	if req.Version < 4 {
		c := resp.Coordinators[0]
		resp.ErrorCode, resp.ErrorMessage = c.ErrorCode, c.ErrorMessage
		resp.NodeID, resp.Host, resp.Port = c.NodeID, c.Host, c.Port
		resp.Coordinators = nil
	}
	return resp, nil
}
