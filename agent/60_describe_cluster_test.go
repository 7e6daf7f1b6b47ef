package agent

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestDescribeCluster(t *testing.T) {
	srv := adminServer(t, nil)
	for v := int16(0); v <= 1; v++ {
		resp := callAPI[*kmsg.DescribeClusterResponse](t, srv, kmsg.NewPtrDescribeClusterRequest(), v)
		wantErrCode(t, "describe", resp.ErrorCode, nil)
		if resp.ClusterID != clusterID || resp.ControllerID != srv.self.nodeID {
			t.Errorf("v%d: cluster %q controller %d", v, resp.ClusterID, resp.ControllerID)
		}
		if len(resp.Brokers) != 1 || resp.Brokers[0].NodeID != srv.self.nodeID || resp.Brokers[0].Port != srv.self.port {
			t.Errorf("v%d: brokers %+v, want %+v", v, resp.Brokers, srv.self)
		}
	}
	req := kmsg.NewPtrDescribeClusterRequest()
	req.EndpointType = 2 // controller
	resp := callAPI[*kmsg.DescribeClusterResponse](t, srv, req, 1)
	wantErrCode(t, "controller endpoint", resp.ErrorCode, kerr.MismatchedEndpointType)
}
