package agent_test

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/agent/agenttest"
)

func TestOffsetFetchUnknownGroupIsMinusOne(t *testing.T) {
	a := agenttest.Start(t)
	w := dialWire(t, a)
	for v := int16(0); v <= 7; v++ {
		req := kmsg.NewPtrOffsetFetchRequest()
		req.Group = "never-seen"
		req.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: "t1", Partitions: []int32{0, 1}}}
		resp := do[*kmsg.OffsetFetchResponse](w, req, v)
		wantCode(t, "top level", resp.ErrorCode, nil)
		for _, p := range resp.Topics[0].Partitions {
			if p.Offset != -1 || p.ErrorCode != 0 {
				t.Fatalf("v%d partition %d: offset %d, %v", v, p.Partition, p.Offset, kerr.ErrorForCode(p.ErrorCode))
			}
		}
	}
}

func TestOffsetFetchSeveralGroups(t *testing.T) {
	a := agenttest.Start(t)
	w := dialWire(t, a)
	topicFor(t, a, "t1", 2)
	topicFor(t, a, "t2", 1)
	do[*kmsg.OffsetCommitResponse](w, commitReq("g1", "", -1, "t1", 1, 11), 8)
	do[*kmsg.OffsetCommitResponse](w, commitReq("g1", "", -1, "t2", 0, 12), 8)
	do[*kmsg.OffsetCommitResponse](w, commitReq("g2", "", -1, "t1", 0, 20), 8)

	req := kmsg.NewPtrOffsetFetchRequest()
	all := kmsg.NewOffsetFetchRequestGroup()
	all.Group = "g1" // null topics: every commit
	some := kmsg.NewOffsetFetchRequestGroup()
	some.Group = "g2"
	some.Topics = []kmsg.OffsetFetchRequestGroupTopic{{Topic: "t1", Partitions: []int32{0, 1}}}
	none := kmsg.NewOffsetFetchRequestGroup()
	none.Group = "g3"
	none.Topics = []kmsg.OffsetFetchRequestGroupTopic{{Topic: "t1", Partitions: []int32{0}}}
	req.Groups = []kmsg.OffsetFetchRequestGroup{all, some, none}
	resp := do[*kmsg.OffsetFetchResponse](w, req, 8)
	if len(resp.Groups) != 3 {
		t.Fatalf("%d groups answered", len(resp.Groups))
	}
	got := map[string]map[string]int64{}
	for _, g := range resp.Groups {
		wantCode(t, g.Group, g.ErrorCode, nil)
		got[g.Group] = map[string]int64{}
		for _, tp := range g.Topics {
			for _, p := range tp.Partitions {
				got[g.Group][tp.Topic+"/"+string(rune('0'+p.Partition))] = p.Offset
			}
		}
	}
	want := map[string]map[string]int64{
		"g1": {"t1/1": 11, "t2/0": 12},
		"g2": {"t1/0": 20, "t1/1": -1},
		"g3": {"t1/0": -1},
	}
	for g, ps := range want {
		for p, o := range ps {
			if got[g][p] != o {
				t.Errorf("%s %s: %d, want %d", g, p, got[g][p], o)
			}
		}
		if len(got[g]) != len(ps) {
			t.Errorf("%s: got %v, want %v", g, got[g], ps)
		}
	}
}
