package agent

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// endpointTypeBroker is DescribeCluster's EndpointType for brokers (KIP-919);
// agents have no controller endpoint.
const endpointTypeBroker = 1

// DescribeCluster: v0-1
//
// Behaviour:
//   - Lists the live agents as brokers, as Metadata does, and this agent
//     as the controller: any agent does what a Kafka controller does.
//   - The cluster id is the one Metadata answers.
//   - Authorized operations are not computed: left unset.
//
// Version notes:
//   - v1: EndpointType (KIP-919). A request for the controller endpoints
//     is MISMATCHED_ENDPOINT_TYPE, as a Kafka broker answers it.
func (srv *Server) handleDescribeCluster(_ context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.DescribeClusterRequest)
	resp := req.ResponseKind().(*kmsg.DescribeClusterResponse)

	if req.Version >= 1 && req.EndpointType != endpointTypeBroker {
		resp.ErrorCode = kerr.MismatchedEndpointType.Code
		msg := "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER"
		resp.ErrorMessage = &msg
		return resp, nil
	}
	resp.EndpointType = endpointTypeBroker
	resp.ClusterID = clusterID
	resp.ControllerID = srv.self.nodeID
	for _, b := range srv.brokers() {
		sb := kmsg.NewDescribeClusterResponseBroker()
		sb.NodeID, sb.Host, sb.Port = b.nodeID, b.host, b.port
		resp.Brokers = append(resp.Brokers, sb)
	}
	return resp, nil
}
