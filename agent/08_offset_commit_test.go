package agent_test

import (
	"context"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/agent/agenttest"
)

// topicFor creates topic with n partitions.
func topicFor(t *testing.T, a *agenttest.Agent, topic string, n int32) {
	t.Helper()
	adm := kadm.NewClient(client(t, a))
	if _, err := adm.CreateTopic(context.Background(), n, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
}

func commitReq(group, memberID string, gen int32, topic string, partition int32, offset int64) *kmsg.OffsetCommitRequest {
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group, req.MemberID, req.Generation = group, memberID, gen
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewOffsetCommitRequestTopicPartition()
	rp.Partition, rp.Offset, rp.LeaderEpoch = partition, offset, 4
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

// commitAt commits offset of t1/0 as member at generation gen and returns
// the partition's error code.
func commitAt(t *testing.T, w *wire, group, member string, gen int32, offset int64) int16 {
	t.Helper()
	resp := do[*kmsg.OffsetCommitResponse](w, commitReq(group, member, gen, "t1", 0, offset), 8)
	return resp.Topics[0].Partitions[0].ErrorCode
}

// fetchOffset is the group's committed offset of topic/partition.
func fetchOffset(t *testing.T, w *wire, group, topic string, partition int32) int64 {
	t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group
	req.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: topic, Partitions: []int32{partition}}}
	resp := do[*kmsg.OffsetFetchResponse](w, req, 7)
	wantCode(t, "fetch", resp.ErrorCode, nil)
	return resp.Topics[0].Partitions[0].Offset
}

func TestOffsetCommitEveryVersion(t *testing.T) {
	a := agenttest.Start(t)
	w := dialWire(t, a)
	topicFor(t, a, "t1", 2)
	for v := int16(0); v <= 8; v++ {
		group := "simple-" + string(rune('a'+v))
		req := commitReq(group, "", -1, "t1", 1, int64(100+v))
		req.Topics[0].Partitions[0].Metadata = kmsg.StringPtr("meta")
		resp := do[*kmsg.OffsetCommitResponse](w, req, v)
		wantCode(t, "simple commit", resp.Topics[0].Partitions[0].ErrorCode, nil)
		f := kmsg.NewPtrOffsetFetchRequest()
		f.Group = group
		f.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: "t1", Partitions: []int32{1}}}
		fr := do[*kmsg.OffsetFetchResponse](w, f, min(v, 7))
		p := fr.Topics[0].Partitions[0]
		if p.Offset != int64(100+v) || p.Metadata == nil || *p.Metadata != "meta" {
			t.Fatalf("v%d: fetched %+v", v, p)
		}
		if wantEpoch := map[bool]int32{true: 4, false: -1}[v >= 6]; v >= 5 && p.LeaderEpoch != wantEpoch {
			t.Fatalf("v%d: leader epoch %d, want %d", v, p.LeaderEpoch, wantEpoch)
		}
	}
}

func TestOffsetCommitChecks(t *testing.T) {
	a := agenttest.Start(t)
	w := dialWire(t, a)
	topicFor(t, a, "t1", 1)

	req := commitReq("checks", "", -1, "t1", 0, 1)
	req.Topics = append(req.Topics, commitReq("", "", -1, "nope", 0, 1).Topics[0], commitReq("", "", -1, "t1", 9, 1).Topics[0])
	long := strings.Repeat("x", 4097)
	req.Topics = append(req.Topics, commitReq("", "", -1, "t1", 0, 1).Topics[0])
	req.Topics[3].Partitions[0].Metadata = &long
	resp := do[*kmsg.OffsetCommitResponse](w, req, 8)
	wantCode(t, "valid partition", resp.Topics[0].Partitions[0].ErrorCode, nil)
	wantCode(t, "unknown topic", resp.Topics[1].Partitions[0].ErrorCode, kerr.UnknownTopicOrPartition)
	wantCode(t, "unknown partition", resp.Topics[2].Partitions[0].ErrorCode, kerr.UnknownTopicOrPartition)
	wantCode(t, "long metadata", resp.Topics[3].Partitions[0].ErrorCode, kerr.OffsetMetadataTooLarge)

	// A member commit to a group that does not exist (Kafka before v9).
	wantCode(t, "member commit, no group", commitAt(t, w, "nogroup", "m", 3, 1), kerr.IllegalGeneration)

	// A simple commit to a group with members is refused.
	j := do[*kmsg.JoinGroupResponse](w, joinReq("busy", "", nil), 3)
	wantCode(t, "simple commit, active group", commitAt(t, w, "busy", "", -1, 1), kerr.UnknownMemberID)
	// Before SyncGroup the group is completing its rebalance.
	wantCode(t, "member commit, completing", commitAt(t, w, "busy", j.MemberID, 1, 1), kerr.RebalanceInProgress)
}
