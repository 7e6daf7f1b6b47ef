package agent_test

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/agent"
	"github.com/sluicehq/sluice/agent/agenttest"
)

// subscription is a consumer protocol's member metadata for topics.
func subscription(topics ...string) []byte {
	m := kmsg.NewConsumerMemberMetadata()
	m.Topics = topics
	return m.AppendTo(nil)
}

func joinReq(group, memberID string, instanceID *string, protocols ...string) *kmsg.JoinGroupRequest {
	req := kmsg.NewPtrJoinGroupRequest()
	req.Group, req.MemberID, req.InstanceID = group, memberID, instanceID
	req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = 10000, 20000
	req.ProtocolType = "consumer"
	if len(protocols) == 0 {
		protocols = []string{"range"}
	}
	for _, p := range protocols {
		rp := kmsg.NewJoinGroupRequestProtocol()
		rp.Name, rp.Metadata = p, subscription("t1")
		req.Protocols = append(req.Protocols, rp)
	}
	return req
}

func syncReq(group, memberID string, instanceID *string, gen int32, assign map[string]string) *kmsg.SyncGroupRequest {
	req := kmsg.NewPtrSyncGroupRequest()
	req.Group, req.MemberID, req.InstanceID, req.Generation = group, memberID, instanceID, gen
	for id, a := range assign {
		ga := kmsg.NewSyncGroupRequestGroupAssignment()
		ga.MemberID, ga.MemberAssignment = id, []byte(a)
		req.GroupAssignment = append(req.GroupAssignment, ga)
	}
	return req
}

func heartbeatReq(group, memberID string, instanceID *string, gen int32) *kmsg.HeartbeatRequest {
	req := kmsg.NewPtrHeartbeatRequest()
	req.Group, req.MemberID, req.InstanceID, req.Generation = group, memberID, instanceID, gen
	return req
}

func wantCode(t *testing.T, what string, got int16, want *kerr.Error) {
	t.Helper()
	var code int16
	if want != nil {
		code = want.Code
	}
	if got != code {
		t.Fatalf("%s: %v, want %v", what, kerr.ErrorForCode(got), want)
	}
}

// TestGroupLifecycleEveryVersion runs join, sync, heartbeat and leave at
// every version a client may send.
func TestGroupLifecycleEveryVersion(t *testing.T) {
	a := agenttest.Start(t)
	for v := int16(0); v <= 9; v++ {
		w := dialWire(t, a)
		group := "life-" + string(rune('a'+v))
		join := joinReq(group, "", nil)
		resp := do[*kmsg.JoinGroupResponse](w, join, v)
		if v >= 4 {
			// KIP-394: a dynamic member learns its id first.
			wantCode(t, "first join", resp.ErrorCode, kerr.MemberIDRequired)
			if resp.MemberID == "" {
				t.Fatalf("v%d: MEMBER_ID_REQUIRED without a member id", v)
			}
			resp = do[*kmsg.JoinGroupResponse](w, joinReq(group, resp.MemberID, nil), v)
		}
		wantCode(t, "join", resp.ErrorCode, nil)
		id := resp.MemberID
		if resp.Generation != 1 || resp.LeaderID != id || len(resp.Members) != 1 || resp.Protocol == nil || *resp.Protocol != "range" {
			t.Fatalf("v%d join: %+v", v, resp)
		}
		sv := min(v, 5)
		sync := do[*kmsg.SyncGroupResponse](w, syncReq(group, id, nil, 1, map[string]string{id: "mine"}), sv)
		wantCode(t, "sync", sync.ErrorCode, nil)
		if string(sync.MemberAssignment) != "mine" {
			t.Fatalf("v%d sync assignment %q", sv, sync.MemberAssignment)
		}
		hb := do[*kmsg.HeartbeatResponse](w, heartbeatReq(group, id, nil, 1), min(v, 4))
		wantCode(t, "heartbeat", hb.ErrorCode, nil)
		leave := kmsg.NewPtrLeaveGroupRequest()
		leave.Group, leave.MemberID = group, id
		if lv := min(v, 5); lv >= 3 {
			leave.Members = []kmsg.LeaveGroupRequestMember{{MemberID: id}}
		}
		lresp := do[*kmsg.LeaveGroupResponse](w, leave, min(v, 5))
		wantCode(t, "leave", lresp.ErrorCode, nil)
		hb = do[*kmsg.HeartbeatResponse](w, heartbeatReq(group, id, nil, 1), min(v, 4))
		wantCode(t, "heartbeat after leaving", hb.ErrorCode, kerr.UnknownMemberID)
	}
}

func TestGroupRebalanceAndStaleGeneration(t *testing.T) {
	a := agenttest.Start(t)
	wa, wb := dialWire(t, a), dialWire(t, a)
	const g = "rebalance"
	topicFor(t, a, "t1", 2)

	ra := do[*kmsg.JoinGroupResponse](wa, joinReq(g, "", nil), 9)
	ra = do[*kmsg.JoinGroupResponse](wa, joinReq(g, ra.MemberID, nil), 9)
	idA := ra.MemberID
	do[*kmsg.SyncGroupResponse](wa, syncReq(g, idA, nil, 1, map[string]string{idA: "all"}), 5)

	// b joins: its join waits for a to join again.
	rb := do[*kmsg.JoinGroupResponse](wb, joinReq(g, "", nil), 9)
	jb := joinReq(g, rb.MemberID, nil)
	wb.send(jb, 9)
	idB := rb.MemberID

	// a learns of the rebalance from its heartbeat, once b's join is in.
	hb := do[*kmsg.HeartbeatResponse](wa, heartbeatReq(g, idA, nil, 1), 4)
	for deadline := time.Now().Add(10 * time.Second); hb.ErrorCode == 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
		hb = do[*kmsg.HeartbeatResponse](wa, heartbeatReq(g, idA, nil, 1), 4)
	}
	wantCode(t, "heartbeat during the rebalance", hb.ErrorCode, kerr.RebalanceInProgress)
	// An eager member commits before joining again, at its generation.
	wantCode(t, "commit while preparing", commitAt(t, wa, g, idA, 1, 5), nil)

	ra = do[*kmsg.JoinGroupResponse](wa, joinReq(g, idA, nil), 9)
	rb = wb.recv(jb).(*kmsg.JoinGroupResponse)
	if ra.Generation != 2 || rb.Generation != 2 || ra.LeaderID != idA || len(ra.Members) != 2 || len(rb.Members) != 0 {
		t.Fatalf("joins: a %+v b %+v", ra, rb)
	}
	sbReq := syncReq(g, idB, nil, 2, nil)
	wb.send(sbReq, 5) // waits for the leader
	sa := do[*kmsg.SyncGroupResponse](wa, syncReq(g, idA, nil, 2, map[string]string{idA: "A"}), 5)
	sb := wb.recv(sbReq).(*kmsg.SyncGroupResponse)
	if string(sa.MemberAssignment) != "A" || sb.ErrorCode != 0 {
		t.Fatalf("syncs: a %+v b %+v", sa, sb)
	}
	// b was left out of the assignment: an empty consumer assignment.
	var ca kmsg.ConsumerMemberAssignment
	if err := ca.ReadFrom(sb.MemberAssignment); err != nil || len(ca.Topics) != 0 {
		t.Fatalf("b's assignment %x: %v", sb.MemberAssignment, err)
	}

	wantCode(t, "commit from the old generation", commitAt(t, wa, g, idA, 1, 10), kerr.IllegalGeneration)
	wantCode(t, "commit from a stranger", commitAt(t, wa, g, "stranger", 2, 10), kerr.UnknownMemberID)
	wantCode(t, "commit", commitAt(t, wb, g, idB, 2, 7), nil)
	if got := fetchOffset(t, wa, g, "t1", 0); got != 7 {
		t.Fatalf("committed %d, want 7", got)
	}
	hb = do[*kmsg.HeartbeatResponse](wb, heartbeatReq(g, idB, nil, 1), 4)
	wantCode(t, "heartbeat from the old generation", hb.ErrorCode, kerr.IllegalGeneration)
}

func TestStaticMemberFencing(t *testing.T) {
	a := agenttest.Start(t)
	w := dialWire(t, a)
	topicFor(t, a, "t1", 1)
	const g = "static"
	inst := kmsg.StringPtr("instance-1")

	// A static member joins at once even at v9.
	r := do[*kmsg.JoinGroupResponse](w, joinReq(g, "", inst), 9)
	wantCode(t, "static join", r.ErrorCode, nil)
	old := r.MemberID
	do[*kmsg.SyncGroupResponse](w, syncReq(g, old, inst, 1, map[string]string{old: "A"}), 5)

	// The instance restarts: a new member id, no rebalance, the leader keeps
	// its assignment (KIP-814).
	r = do[*kmsg.JoinGroupResponse](w, joinReq(g, "", inst), 9)
	wantCode(t, "rejoin", r.ErrorCode, nil)
	if r.MemberID == old || r.Generation != 1 || !r.SkipAssignment || r.LeaderID != r.MemberID {
		t.Fatalf("rejoin: %+v", r)
	}
	s := do[*kmsg.SyncGroupResponse](w, syncReq(g, r.MemberID, inst, 1, nil), 5)
	if string(s.MemberAssignment) != "A" {
		t.Fatalf("assignment after rejoin %q", s.MemberAssignment)
	}

	// The old instance is fenced everywhere.
	hb := do[*kmsg.HeartbeatResponse](w, heartbeatReq(g, old, inst, 1), 4)
	wantCode(t, "old heartbeat", hb.ErrorCode, kerr.FencedInstanceID)
	commit := commitReq(g, old, 1, "t1", 0, 3)
	commit.InstanceID = inst
	cr := do[*kmsg.OffsetCommitResponse](w, commit, 8)
	wantCode(t, "old commit", cr.Topics[0].Partitions[0].ErrorCode, kerr.FencedInstanceID)
	sr := do[*kmsg.SyncGroupResponse](w, syncReq(g, old, inst, 1, nil), 5)
	wantCode(t, "old sync", sr.ErrorCode, kerr.FencedInstanceID)

	// Batched leave by instance id.
	leave := kmsg.NewPtrLeaveGroupRequest()
	leave.Group = g
	leave.Members = []kmsg.LeaveGroupRequestMember{{InstanceID: kmsg.StringPtr("nobody")}, {InstanceID: inst}}
	lr := do[*kmsg.LeaveGroupResponse](w, leave, 5)
	wantCode(t, "leave unknown instance", lr.Members[0].ErrorCode, kerr.UnknownMemberID)
	wantCode(t, "leave instance", lr.Members[1].ErrorCode, nil)
	if lr.Members[1].MemberID != r.MemberID {
		t.Fatalf("left %q, want %q", lr.Members[1].MemberID, r.MemberID)
	}
	d := do[*kmsg.DescribeGroupsResponse](w, &kmsg.DescribeGroupsRequest{Groups: []string{g}}, 5)
	if d.Groups[0].State != "Empty" || len(d.Groups[0].Members) != 0 {
		t.Fatalf("after leaving: %+v", d.Groups[0])
	}
}

func TestJoinGroupErrors(t *testing.T) {
	a := agenttest.Start(t)
	w := dialWire(t, a)
	req := joinReq("", "", nil)
	wantCode(t, "empty group id", do[*kmsg.JoinGroupResponse](w, req, 9).ErrorCode, kerr.InvalidGroupID)
	req = joinReq("errs", "", nil)
	req.SessionTimeoutMillis = 100
	wantCode(t, "short session", do[*kmsg.JoinGroupResponse](w, req, 9).ErrorCode, kerr.InvalidSessionTimeout)
	wantCode(t, "unknown member", do[*kmsg.JoinGroupResponse](w, joinReq("errs", "ghost", nil), 9).ErrorCode, kerr.UnknownMemberID)
	do[*kmsg.JoinGroupResponse](w, joinReq("errs", "", nil), 3)
	req = joinReq("errs", "", nil, "roundrobin")
	wantCode(t, "no common protocol", do[*kmsg.JoinGroupResponse](w, req, 3).ErrorCode, kerr.InconsistentGroupProtocol)
}

// The session bounds are the agent's flags.
func TestJoinGroupSessionBounds(t *testing.T) {
	a := agenttest.Start(t, agenttest.WithConfig(func(c *agent.Config) {
		c.Groups.MinSessionTimeout, c.Groups.MaxSessionTimeout = 50*time.Millisecond, time.Second
	}))
	w := dialWire(t, a)
	req := joinReq("bounds", "", nil)
	req.SessionTimeoutMillis = 100
	wantCode(t, "session above the lowered minimum", do[*kmsg.JoinGroupResponse](w, req, 3).ErrorCode, nil)
	req.SessionTimeoutMillis = 2000
	wantCode(t, "session above the maximum", do[*kmsg.JoinGroupResponse](w, req, 3).ErrorCode, kerr.InvalidSessionTimeout)
}
