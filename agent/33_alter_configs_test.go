package agent

import (
	"maps"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func alterConfigsReq(validateOnly bool, typ kmsg.ConfigResourceType, name string, kv ...string) *kmsg.AlterConfigsRequest {
	req := kmsg.NewPtrAlterConfigsRequest()
	req.ValidateOnly = validateOnly
	rr := kmsg.NewAlterConfigsRequestResource()
	rr.ResourceType, rr.ResourceName = typ, name
	for i := 0; i+1 < len(kv); i += 2 {
		c := kmsg.NewAlterConfigsRequestResourceConfig()
		c.Name, c.Value = kv[i], kmsg.StringPtr(kv[i+1])
		rr.Configs = append(rr.Configs, c)
	}
	req.Resources = append(req.Resources, rr)
	return req
}

func TestAlterConfigsReplaces(t *testing.T) {
	for v := int16(0); v <= 2; v++ {
		srv := adminServer(t, nil)
		mustCreateTopic(t, srv, "t", 1, map[string]string{"retention.ms": "1000", "cleanup.policy": "compact"})
		resp := callAPI[*kmsg.AlterConfigsResponse](t, srv,
			alterConfigsReq(false, kmsg.ConfigResourceTypeTopic, "t", "retention.bytes", "50", "cleanup.policy", "delete,compact"), v)
		wantErrCode(t, "t", resp.Resources[0].ErrorCode, nil)
		want := map[string]string{"retention.bytes": "50", "cleanup.policy": "delete,compact"}
		if got := mustGetTopic(t, srv, "t").Configs; !maps.Equal(got, want) {
			t.Errorf("v%d: configs %v, want %v (retention.ms back to default)", v, got, want)
		}
	}
}

func TestAlterConfigsChangesNothingUnlessAllValid(t *testing.T) {
	before := map[string]string{"retention.ms": "1000"}
	for name, req := range map[string]*kmsg.AlterConfigsRequest{
		"validate only": alterConfigsReq(true, kmsg.ConfigResourceTypeTopic, "t", "retention.ms", "5"),
		"bad value":     alterConfigsReq(false, kmsg.ConfigResourceTypeTopic, "t", "retention.ms", "5", "max.message.bytes", "big"),
		"unknown key":   alterConfigsReq(false, kmsg.ConfigResourceTypeTopic, "t", "retention.ms", "5", "flush.ms", "1"),
	} {
		srv := adminServer(t, nil)
		mustCreateTopic(t, srv, "t", 1, before)
		resp := callAPI[*kmsg.AlterConfigsResponse](t, srv, req, 2)
		want := kerr.InvalidConfig
		if req.ValidateOnly {
			want = nil
		}
		wantErrCode(t, name, resp.Resources[0].ErrorCode, want)
		if got := mustGetTopic(t, srv, "t").Configs; !maps.Equal(got, before) {
			t.Errorf("%s: configs became %v", name, got)
		}
	}
}

func TestAlterConfigsRefuses(t *testing.T) {
	srv := adminServer(t, nil)
	mustCreateTopic(t, srv, "t", 1, nil)

	resp := callAPI[*kmsg.AlterConfigsResponse](t, srv, alterConfigsReq(false, kmsg.ConfigResourceTypeTopic, "missing", "retention.ms", "5"), 2)
	wantErrCode(t, "missing", resp.Resources[0].ErrorCode, kerr.UnknownTopicOrPartition)
	resp = callAPI[*kmsg.AlterConfigsResponse](t, srv, alterConfigsReq(false, kmsg.ConfigResourceTypeBroker, "", "log.retention.ms", "5"), 2)
	wantErrCode(t, "broker", resp.Resources[0].ErrorCode, kerr.InvalidRequest)
	resp = callAPI[*kmsg.AlterConfigsResponse](t, srv, alterConfigsReq(false, kmsg.ConfigResourceTypeBroker, ""), 2)
	wantErrCode(t, "broker, nothing to change", resp.Resources[0].ErrorCode, nil)

	req := alterConfigsReq(false, kmsg.ConfigResourceTypeTopic, "t", "retention.ms", "5")
	req.Resources = append(req.Resources, req.Resources[0])
	resp = callAPI[*kmsg.AlterConfigsResponse](t, srv, req, 2)
	if len(resp.Resources) != 2 {
		t.Fatalf("%d answers, want one per resource", len(resp.Resources))
	}
	wantErrCode(t, "duplicate", resp.Resources[1].ErrorCode, kerr.InvalidRequest)
	if got := mustGetTopic(t, srv, "t").Configs; len(got) != 0 {
		t.Errorf("a duplicated resource was altered: %v", got)
	}
}
