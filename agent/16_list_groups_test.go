package agent_test

import (
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/agent/agenttest"
)

// stableGroup makes group a Stable group of one member on w and returns
// the member id.
func stableGroup(t *testing.T, w *wire, group string) string {
	t.Helper()
	j := do[*kmsg.JoinGroupResponse](w, joinReq(group, "", kmsg.StringPtr(group+"-instance")), 9)
	wantCode(t, "join", j.ErrorCode, nil)
	s := do[*kmsg.SyncGroupResponse](w, syncReq(group, j.MemberID, kmsg.StringPtr(group+"-instance"), 1,
		map[string]string{j.MemberID: "x"}), 5)
	wantCode(t, "sync", s.ErrorCode, nil)
	return j.MemberID
}

func listGroups(t *testing.T, w *wire, v int16, states ...string) []string {
	t.Helper()
	req := kmsg.NewPtrListGroupsRequest()
	req.StatesFilter = states
	resp := do[*kmsg.ListGroupsResponse](w, req, v)
	wantCode(t, "list", resp.ErrorCode, nil)
	var out []string
	for _, g := range resp.Groups {
		out = append(out, g.Group+":"+g.ProtocolType+":"+g.GroupState)
	}
	slices.Sort(out)
	return out
}

func TestListGroupsStateFilter(t *testing.T) {
	a := agenttest.Start(t)
	w := dialWire(t, a)
	topicFor(t, a, "t1", 1)
	stableGroup(t, w, "active")
	do[*kmsg.OffsetCommitResponse](w, commitReq("offsets-only", "", -1, "t1", 0, 5), 8)

	if got, want := listGroups(t, w, 4), []string{"active:consumer:Stable", "offsets-only::Empty"}; !slices.Equal(got, want) {
		t.Fatalf("all: %v, want %v", got, want)
	}
	if got := listGroups(t, w, 4, "stable"); !slices.Equal(got, []string{"active:consumer:Stable"}) {
		t.Fatalf("stable: %v", got)
	}
	if got := listGroups(t, w, 4, "Empty", "Dead"); !slices.Equal(got, []string{"offsets-only::Empty"}) {
		t.Fatalf("empty: %v", got)
	}
	for v := int16(0); v <= 3; v++ {
		if got := listGroups(t, w, v); len(got) != 2 {
			t.Fatalf("v%d: %v", v, got)
		}
	}
}

func TestDescribeGroups(t *testing.T) {
	a := agenttest.Start(t)
	w := dialWire(t, a)
	id := stableGroup(t, w, "described")
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Groups = []string{"described", "missing"}
	for v := int16(0); v <= 5; v++ {
		resp := do[*kmsg.DescribeGroupsResponse](w, req, v)
		g, missing := resp.Groups[0], resp.Groups[1]
		wantCode(t, "described", g.ErrorCode, nil)
		if g.State != "Stable" || g.ProtocolType != "consumer" || g.Protocol != "range" || len(g.Members) != 1 {
			t.Fatalf("v%d: %+v", v, g)
		}
		m := g.Members[0]
		if m.MemberID != id || m.ClientID != "wire-test" || m.ClientHost != "/127.0.0.1" || string(m.MemberAssignment) != "x" {
			t.Fatalf("v%d member: %+v", v, m)
		}
		if v >= 4 && (m.InstanceID == nil || *m.InstanceID != "described-instance") {
			t.Fatalf("v%d instance id %v", v, m.InstanceID)
		}
		var md kmsg.ConsumerMemberMetadata
		if err := md.ReadFrom(m.ProtocolMetadata); err != nil || !slices.Equal(md.Topics, []string{"t1"}) {
			t.Fatalf("v%d metadata: %v %v", v, md.Topics, err)
		}
		// Kafka describes a group that does not exist as Dead, no error.
		wantCode(t, "missing", missing.ErrorCode, nil)
		if missing.State != "Dead" {
			t.Fatalf("missing group state %q", missing.State)
		}
	}
}

func TestDeleteGroups(t *testing.T) {
	a := agenttest.Start(t)
	w := dialWire(t, a)
	topicFor(t, a, "t1", 1)
	stableGroup(t, w, "busy")
	do[*kmsg.OffsetCommitResponse](w, commitReq("idle", "", -1, "t1", 0, 5), 8)
	req := kmsg.NewPtrDeleteGroupsRequest()
	req.Groups = []string{"busy", "idle", "missing"}
	for v := int16(0); v <= 2; v++ {
		resp := do[*kmsg.DeleteGroupsResponse](w, req, v)
		wantCode(t, "busy", resp.Groups[0].ErrorCode, kerr.NonEmptyGroup)
		if v == 0 {
			wantCode(t, "idle", resp.Groups[1].ErrorCode, nil)
		} else {
			wantCode(t, "idle, deleted", resp.Groups[1].ErrorCode, kerr.GroupIDNotFound)
		}
		wantCode(t, "missing", resp.Groups[2].ErrorCode, kerr.GroupIDNotFound)
	}
	if got := fetchOffset(t, w, "idle", "t1", 0); got != -1 {
		t.Fatalf("offset after delete %d", got)
	}
}

func TestOffsetDelete(t *testing.T) {
	a := agenttest.Start(t)
	w := dialWire(t, a)
	topicFor(t, a, "t1", 1)
	topicFor(t, a, "t2", 1)
	id := stableGroup(t, w, "od")
	inst := kmsg.StringPtr("od-instance")
	for _, topic := range []string{"t1", "t2"} {
		c := commitReq("od", id, 1, topic, 0, 9)
		c.InstanceID = inst
		wantCode(t, "commit "+topic, do[*kmsg.OffsetCommitResponse](w, c, 8).Topics[0].Partitions[0].ErrorCode, nil)
	}
	req := kmsg.NewPtrOffsetDeleteRequest()
	req.Group = "od"
	for _, topic := range []string{"t1", "t2", "t3"} {
		rt := kmsg.NewOffsetDeleteRequestTopic()
		rt.Topic = topic
		rt.Partitions = []kmsg.OffsetDeleteRequestTopicPartition{{Partition: 0}}
		req.Topics = append(req.Topics, rt)
	}
	resp := do[*kmsg.OffsetDeleteResponse](w, req, 0)
	wantCode(t, "group", resp.ErrorCode, nil)
	wantCode(t, "subscribed topic", resp.Topics[0].Partitions[0].ErrorCode, kerr.GroupSubscribedToTopic)
	wantCode(t, "other topic", resp.Topics[1].Partitions[0].ErrorCode, nil)
	wantCode(t, "unknown topic", resp.Topics[2].Partitions[0].ErrorCode, kerr.UnknownTopicOrPartition)
	if fetchOffset(t, w, "od", "t1", 0) != 9 || fetchOffset(t, w, "od", "t2", 0) != -1 {
		t.Fatal("wrong offsets deleted")
	}
	req.Group = "missing"
	wantCode(t, "missing group", do[*kmsg.OffsetDeleteResponse](w, req, 0).ErrorCode, kerr.GroupIDNotFound)
}

func TestFindCoordinator(t *testing.T) {
	a := agenttest.Start(t)
	w := dialWire(t, a)
	for v := int16(0); v <= 3; v++ {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.CoordinatorKey = "g"
		resp := do[*kmsg.FindCoordinatorResponse](w, req, v)
		wantCode(t, "find", resp.ErrorCode, nil)
		if resp.Host != "127.0.0.1" || resp.NodeID < 0 || resp.Port <= 0 {
			t.Fatalf("v%d: %+v", v, resp)
		}
	}
	req := kmsg.NewPtrFindCoordinatorRequest()
	req.CoordinatorKeys = []string{"a", "b", "c"}
	resp := do[*kmsg.FindCoordinatorResponse](w, req, 4)
	if len(resp.Coordinators) != 3 || resp.Coordinators[2].Key != "c" || resp.Coordinators[1].ErrorCode != 0 {
		t.Fatalf("batched: %+v", resp.Coordinators)
	}
	req.CoordinatorType = 1
	resp = do[*kmsg.FindCoordinatorResponse](w, req, 4)
	wantCode(t, "transactional", resp.Coordinators[0].ErrorCode, kerr.TransactionalIDAuthorizationFailed)
}
