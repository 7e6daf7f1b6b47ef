package agent

import (
	"maps"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

type alterOp struct {
	op    kmsg.IncrementalAlterConfigOp
	key   string
	value *string
}

func opSet(k, v string) alterOp      { return alterOp{kmsg.IncrementalAlterConfigOpSet, k, &v} }
func opDelete(k string) alterOp      { return alterOp{kmsg.IncrementalAlterConfigOpDelete, k, nil} }
func opAppend(k, v string) alterOp   { return alterOp{kmsg.IncrementalAlterConfigOpAppend, k, &v} }
func opSubtract(k, v string) alterOp { return alterOp{kmsg.IncrementalAlterConfigOpSubtract, k, &v} }

func incrementalAlterReq(validateOnly bool, topic string, ops ...alterOp) *kmsg.IncrementalAlterConfigsRequest {
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	req.ValidateOnly = validateOnly
	rr := kmsg.NewIncrementalAlterConfigsRequestResource()
	rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeTopic, topic
	for _, o := range ops {
		c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		c.Op, c.Name, c.Value = o.op, o.key, o.value
		rr.Configs = append(rr.Configs, c)
	}
	req.Resources = append(req.Resources, rr)
	return req
}

func TestIncrementalAlterConfigs(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before map[string]string
		ops    []alterOp
		want   map[string]string
	}{
		{"set keeps the rest", map[string]string{"retention.ms": "1"}, []alterOp{opSet("retention.bytes", "9")},
			map[string]string{"retention.ms": "1", "retention.bytes": "9"}},
		{"delete", map[string]string{"retention.ms": "1", "retention.bytes": "9"}, []alterOp{opDelete("retention.ms")},
			map[string]string{"retention.bytes": "9"}},
		{"delete what is unset", nil, []alterOp{opDelete("segment.ms")}, map[string]string{}},
		{"append starts from the default", nil, []alterOp{opAppend("cleanup.policy", "compact")},
			map[string]string{"cleanup.policy": "delete,compact"}},
		{"append what is there", map[string]string{"cleanup.policy": "compact"}, []alterOp{opAppend("cleanup.policy", "compact")},
			map[string]string{"cleanup.policy": "compact"}},
		{"subtract", map[string]string{"cleanup.policy": "delete,compact"}, []alterOp{opSubtract("cleanup.policy", "delete")},
			map[string]string{"cleanup.policy": "compact"}},
	} {
		for v := int16(0); v <= 1; v++ {
			srv := adminServer(t, nil)
			mustCreateTopic(t, srv, "t", 1, tc.before)
			resp := callAPI[*kmsg.IncrementalAlterConfigsResponse](t, srv, incrementalAlterReq(false, "t", tc.ops...), v)
			wantErrCode(t, tc.name, resp.Resources[0].ErrorCode, nil)
			got := mustGetTopic(t, srv, "t").Configs
			if got == nil {
				got = map[string]string{}
			}
			if !maps.Equal(got, tc.want) {
				t.Errorf("%s v%d: configs %v, want %v", tc.name, v, got, tc.want)
			}
		}
	}
}

func TestIncrementalAlterConfigsRefuses(t *testing.T) {
	before := map[string]string{"retention.ms": "1", "cleanup.policy": "delete"}
	for _, tc := range []struct {
		name string
		ops  []alterOp
		want *kerr.Error
	}{
		{"append to a scalar", []alterOp{opSet("retention.bytes", "5"), opAppend("retention.ms", "2")}, kerr.InvalidRequest},
		{"subtract from a scalar", []alterOp{opSubtract("retention.ms", "1")}, kerr.InvalidRequest},
		{"subtract to nothing", []alterOp{opSubtract("cleanup.policy", "delete")}, kerr.InvalidConfig},
		{"append a bad item", []alterOp{opAppend("cleanup.policy", "shred")}, kerr.InvalidConfig},
		{"unknown key", []alterOp{opSet("retention.bytes", "5"), opSet("flush.ms", "1")}, kerr.InvalidConfig},
		{"delete unknown key", []alterOp{opDelete("flush.ms")}, kerr.InvalidConfig},
		{"bad value", []alterOp{opSet("message.timestamp.type", "WallClock")}, kerr.InvalidConfig},
		{"null value", []alterOp{{kmsg.IncrementalAlterConfigOpSet, "retention.ms", nil}}, kerr.InvalidRequest},
		{"key twice", []alterOp{opSet("retention.ms", "2"), opDelete("retention.ms")}, kerr.InvalidRequest},
		{"unknown op", []alterOp{{9, "retention.ms", kmsg.StringPtr("2")}}, kerr.InvalidRequest},
	} {
		srv := adminServer(t, nil)
		mustCreateTopic(t, srv, "t", 1, before)
		resp := callAPI[*kmsg.IncrementalAlterConfigsResponse](t, srv, incrementalAlterReq(false, "t", tc.ops...), 1)
		wantErrCode(t, tc.name, resp.Resources[0].ErrorCode, tc.want)
		if resp.Resources[0].ErrorMessage == nil {
			t.Errorf("%s: no error message", tc.name)
		}
		if got := mustGetTopic(t, srv, "t").Configs; !maps.Equal(got, before) {
			t.Errorf("%s: configs became %v", tc.name, got)
		}
	}

	srv := adminServer(t, nil)
	mustCreateTopic(t, srv, "t", 1, before)
	resp := callAPI[*kmsg.IncrementalAlterConfigsResponse](t, srv, incrementalAlterReq(true, "t", opSet("retention.ms", "7")), 1)
	wantErrCode(t, "validate only", resp.Resources[0].ErrorCode, nil)
	if got := mustGetTopic(t, srv, "t").Configs; !maps.Equal(got, before) {
		t.Errorf("validate only: configs became %v", got)
	}
	resp = callAPI[*kmsg.IncrementalAlterConfigsResponse](t, srv, incrementalAlterReq(false, "missing", opSet("retention.ms", "7")), 1)
	wantErrCode(t, "missing", resp.Resources[0].ErrorCode, kerr.UnknownTopicOrPartition)
}
