package agent

import (
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func describeConfigsReq(typ kmsg.ConfigResourceType, name string, keys ...string) *kmsg.DescribeConfigsRequest {
	req := kmsg.NewPtrDescribeConfigsRequest()
	rr := kmsg.NewDescribeConfigsRequestResource()
	rr.ResourceType, rr.ResourceName, rr.ConfigNames = typ, name, keys
	req.Resources = append(req.Resources, rr)
	return req
}

func configsByName(cs []kmsg.DescribeConfigsResponseResourceConfig) map[string]kmsg.DescribeConfigsResponseResourceConfig {
	m := make(map[string]kmsg.DescribeConfigsResponseResourceConfig, len(cs))
	for _, c := range cs {
		m[c.Name] = c
	}
	return m
}

func TestDescribeTopicConfigs(t *testing.T) {
	srv := adminServer(t, nil)
	mustCreateTopic(t, srv, "t", 1, map[string]string{"retention.ms": "1000"})
	for v := int16(0); v <= 4; v++ {
		req := describeConfigsReq(kmsg.ConfigResourceTypeTopic, "t")
		req.IncludeSynonyms, req.IncludeDocumentation = true, true
		resp := callAPI[*kmsg.DescribeConfigsResponse](t, srv, req, v)
		rs := resp.Resources[0]
		wantErrCode(t, "t", rs.ErrorCode, nil)
		cs := configsByName(rs.Configs)
		if len(cs) != len(topicConfigDefs) {
			t.Errorf("v%d: %d configs, want %d", v, len(cs), len(topicConfigDefs))
		}
		set, def := cs["retention.ms"], cs["cleanup.policy"]
		if *set.Value != "1000" || *def.Value != "delete" || set.ReadOnly || set.IsSensitive {
			t.Errorf("v%d: retention.ms %+v, cleanup.policy %+v", v, set, def)
		}
		if v == 0 && (set.IsDefault || !def.IsDefault) {
			t.Errorf("v0: IsDefault %v for a set value, %v for a default", set.IsDefault, def.IsDefault)
		}
		if v >= 1 {
			if set.Source != kmsg.ConfigSourceDynamicTopicConfig || def.Source != kmsg.ConfigSourceDefaultConfig {
				t.Errorf("v%d: sources %v and %v", v, set.Source, def.Source)
			}
			if len(set.ConfigSynonyms) != 2 || set.ConfigSynonyms[1].Name != "log.retention.ms" || len(def.ConfigSynonyms) != 1 {
				t.Errorf("v%d: synonyms %+v / %+v", v, set.ConfigSynonyms, def.ConfigSynonyms)
			}
		}
		if v >= 3 && (set.ConfigType != kmsg.ConfigTypeLong || def.ConfigType != kmsg.ConfigTypeList || set.Documentation == nil) {
			t.Errorf("v%d: types %v %v, doc %v", v, set.ConfigType, def.ConfigType, set.Documentation)
		}
	}
}

func TestDescribeConfigsFiltersAndRefuses(t *testing.T) {
	srv := adminServer(t, nil)
	mustCreateTopic(t, srv, "t", 1, nil)

	resp := callAPI[*kmsg.DescribeConfigsResponse](t, srv, describeConfigsReq(kmsg.ConfigResourceTypeTopic, "t", "retention.ms", "nope"), 4)
	if cs := resp.Resources[0].Configs; len(cs) != 1 || cs[0].Name != "retention.ms" || cs[0].ConfigSynonyms != nil {
		t.Errorf("filtered to %+v", cs)
	}
	resp = callAPI[*kmsg.DescribeConfigsResponse](t, srv, describeConfigsReq(kmsg.ConfigResourceTypeTopic, "missing"), 4)
	wantErrCode(t, "missing", resp.Resources[0].ErrorCode, kerr.UnknownTopicOrPartition)
	resp = callAPI[*kmsg.DescribeConfigsResponse](t, srv, describeConfigsReq(kmsg.ConfigResourceTypeTopic, "bad name"), 4)
	wantErrCode(t, "bad name", resp.Resources[0].ErrorCode, kerr.InvalidTopicException)
	resp = callAPI[*kmsg.DescribeConfigsResponse](t, srv, describeConfigsReq(kmsg.ConfigResourceTypeBrokerLogger, "1"), 4)
	wantErrCode(t, "broker logger", resp.Resources[0].ErrorCode, kerr.InvalidRequest)
}

func TestDescribeBrokerConfigs(t *testing.T) {
	srv := adminServer(t, nil)
	self := strconv.Itoa(int(srv.self.nodeID))
	for _, name := range []string{"", self} {
		resp := callAPI[*kmsg.DescribeConfigsResponse](t, srv, describeConfigsReq(kmsg.ConfigResourceTypeBroker, name), 4)
		rs := resp.Resources[0]
		wantErrCode(t, "broker "+name, rs.ErrorCode, nil)
		cs := configsByName(rs.Configs)
		if c := cs["num.partitions"]; c.Value == nil || *c.Value != "3" || !c.ReadOnly {
			t.Errorf("num.partitions %+v", c)
		}
		if c := cs["log.retention.ms"]; c.Value == nil || *c.Value != "604800000" || c.Source != kmsg.ConfigSourceDefaultConfig {
			t.Errorf("log.retention.ms %+v", c)
		}
	}
	resp := callAPI[*kmsg.DescribeConfigsResponse](t, srv, describeConfigsReq(kmsg.ConfigResourceTypeBroker, self+"1"), 4)
	wantErrCode(t, "other broker", resp.Resources[0].ErrorCode, kerr.InvalidRequest)
}
