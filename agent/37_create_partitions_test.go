package agent

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func createPartitionsReq(validateOnly bool, counts ...any) *kmsg.CreatePartitionsRequest {
	req := kmsg.NewPtrCreatePartitionsRequest()
	req.ValidateOnly = validateOnly
	for i := 0; i+1 < len(counts); i += 2 {
		rt := kmsg.NewCreatePartitionsRequestTopic()
		rt.Topic, rt.Count = counts[i].(string), int32(counts[i+1].(int))
		req.Topics = append(req.Topics, rt)
	}
	return req
}

func TestCreatePartitions(t *testing.T) {
	for v := int16(0); v <= 3; v++ {
		srv := adminServer(t, nil)
		mustCreateTopic(t, srv, "grow", 2, nil)
		mustCreateTopic(t, srv, "same", 2, nil)
		mustCreateTopic(t, srv, "shrink", 2, nil)
		resp := callAPI[*kmsg.CreatePartitionsResponse](t, srv,
			createPartitionsReq(false, "grow", 5, "same", 2, "shrink", 1, "missing", 3), v)
		wantErrCode(t, "grow", resp.Topics[0].ErrorCode, nil)
		wantErrCode(t, "same", resp.Topics[1].ErrorCode, kerr.InvalidPartitions)
		wantErrCode(t, "shrink", resp.Topics[2].ErrorCode, kerr.InvalidPartitions)
		wantErrCode(t, "missing", resp.Topics[3].ErrorCode, kerr.UnknownTopicOrPartition)
		if resp.Topics[1].ErrorMessage == nil {
			t.Errorf("v%d: no message for INVALID_PARTITIONS", v)
		}
		for name, want := range map[string]int32{"grow": 5, "same": 2, "shrink": 2} {
			if got := mustGetTopic(t, srv, name).Partitions; got != want {
				t.Errorf("v%d %s: %d partitions, want %d", v, name, got, want)
			}
		}
	}
}

func TestCreatePartitionsValidateOnlyAndRefusals(t *testing.T) {
	srv := adminServer(t, nil)
	mustCreateTopic(t, srv, "t", 1, nil)
	resp := callAPI[*kmsg.CreatePartitionsResponse](t, srv, createPartitionsReq(true, "t", 4), 3)
	wantErrCode(t, "validate", resp.Topics[0].ErrorCode, nil)
	if got := mustGetTopic(t, srv, "t").Partitions; got != 1 {
		t.Errorf("validate-only changed the count to %d", got)
	}

	req := createPartitionsReq(false, "t", 2, "dup", 2, "dup", 3)
	req.Topics[0].Assignment = []kmsg.CreatePartitionsRequestTopicAssignment{{Replicas: []int32{1}}}
	resp = callAPI[*kmsg.CreatePartitionsResponse](t, srv, req, 3)
	if len(resp.Topics) != 2 {
		t.Fatalf("%d answers, want 2", len(resp.Topics))
	}
	wantErrCode(t, "assignment", resp.Topics[0].ErrorCode, kerr.InvalidRequest)
	wantErrCode(t, "dup", resp.Topics[1].ErrorCode, kerr.InvalidRequest)
	if got := mustGetTopic(t, srv, "t").Partitions; got != 1 {
		t.Errorf("refused assignment changed the count to %d", got)
	}
}
