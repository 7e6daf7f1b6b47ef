package agent

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// InitProducerId: v0-5
//
// Behaviour:
//   - An idempotent producer (null TransactionalID) gets a producer id never
//     handed out before, with epoch 0, from the metadata store, so ids are
//     unique across agents and restarts.
//   - Transactions are not supported: a TransactionalID is refused with
//     TRANSACTIONAL_ID_AUTHORIZATION_FAILED, which every client treats as
//     fatal and reports at once (Produce refuses transactional batches the
//     same way). Retriable codes such as COORDINATOR_NOT_AVAILABLE would
//     leave a transactional client retrying for ever. An empty
//     TransactionalID is INVALID_REQUEST, as in Kafka.
//   - A store failure is answered with the code errCode gives (retriable),
//     producer id -1.
//
// Version notes:
//   - v1: same as v0. v2: flexible.
//   - v3: ProducerID and ProducerEpoch of a producer recovering (KIP-360).
//     Kafka gives an idempotent producer a new id whatever it sends, and so
//     do we; a client bumps its epoch locally when it can.
//   - v4: same as v3. v5: same as v4 (KIP-890 only changes transactions).
func (srv *Server) handleInitProducerID(ctx context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.InitProducerIDRequest)
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1

	switch {
	case req.TransactionalID != nil && *req.TransactionalID == "":
		resp.ErrorCode = kerr.InvalidRequest.Code
		return resp, nil
	case req.TransactionalID != nil:
		resp.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
		return resp, nil
	}
	id, epoch, err := srv.deps.Store.InitProducerID(ctx)
	if err != nil {
		if ctx.Err() == nil {
			srv.log.Warn("handing out a producer id", "err", err)
		}
		resp.ErrorCode = errCode(err)
		return resp, nil
	}
	resp.ProducerID, resp.ProducerEpoch = id, epoch
	return resp, nil
}
