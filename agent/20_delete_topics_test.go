package agent

import (
	"context"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/metadata"
)

func deleteTopicsReq(names ...string) *kmsg.DeleteTopicsRequest {
	req := kmsg.NewPtrDeleteTopicsRequest()
	req.TopicNames = names
	for _, n := range names {
		rt := kmsg.NewDeleteTopicsRequestTopic()
		rt.Topic = kmsg.StringPtr(n)
		req.Topics = append(req.Topics, rt)
	}
	return req
}

func topicGone(t *testing.T, srv *Server, name string) bool {
	t.Helper()
	_, err := srv.deps.Store.Topic(context.Background(), name)
	return errors.Is(err, metadata.ErrUnknownTopic)
}

func TestDeleteTopicsByName(t *testing.T) {
	for v := int16(0); v <= 6; v++ {
		srv := adminServer(t, nil)
		tp := mustCreateTopic(t, srv, "doomed", 1, nil)
		mustCreateTopic(t, srv, "kept", 1, nil)
		resp := callAPI[*kmsg.DeleteTopicsResponse](t, srv, deleteTopicsReq("doomed", "missing"), v)
		if len(resp.Topics) != 2 {
			t.Fatalf("v%d: %d answers", v, len(resp.Topics))
		}
		wantErrCode(t, "doomed", resp.Topics[0].ErrorCode, nil)
		wantErrCode(t, "missing", resp.Topics[1].ErrorCode, kerr.UnknownTopicOrPartition)
		if v >= 6 && resp.Topics[0].TopicID != tp.ID {
			t.Errorf("v%d: answered id %x, want %x", v, resp.Topics[0].TopicID, tp.ID)
		}
		if !topicGone(t, srv, "doomed") || topicGone(t, srv, "kept") {
			t.Errorf("v%d: wrong topics deleted", v)
		}
	}
}

func TestDeleteTopicsByID(t *testing.T) {
	srv := adminServer(t, nil)
	tp := mustCreateTopic(t, srv, "doomed", 1, nil)
	req := kmsg.NewPtrDeleteTopicsRequest()
	for _, id := range []metadata.TopicID{tp.ID, {1}} {
		rt := kmsg.NewDeleteTopicsRequestTopic()
		rt.TopicID = id
		req.Topics = append(req.Topics, rt)
	}
	both := kmsg.NewDeleteTopicsRequestTopic()
	both.Topic, both.TopicID = kmsg.StringPtr("x"), [16]byte{2}
	neither := kmsg.NewDeleteTopicsRequestTopic()
	req.Topics = append(req.Topics, both, neither)

	resp := callAPI[*kmsg.DeleteTopicsResponse](t, srv, req, 6)
	if len(resp.Topics) != 4 {
		t.Fatalf("%d answers", len(resp.Topics))
	}
	if st := resp.Topics[0]; st.ErrorCode != 0 || st.Topic == nil || *st.Topic != "doomed" {
		t.Errorf("by id: %+v", st)
	}
	wantErrCode(t, "unknown id", resp.Topics[1].ErrorCode, kerr.UnknownTopicID)
	wantErrCode(t, "name and id", resp.Topics[2].ErrorCode, kerr.InvalidRequest)
	wantErrCode(t, "neither", resp.Topics[3].ErrorCode, kerr.InvalidRequest)
	if !topicGone(t, srv, "doomed") {
		t.Error("not deleted")
	}
}

func TestDeleteTopicsDuplicateRefusedOnce(t *testing.T) {
	srv := adminServer(t, nil)
	mustCreateTopic(t, srv, "twice", 1, nil)
	resp := callAPI[*kmsg.DeleteTopicsResponse](t, srv, deleteTopicsReq("twice", "twice"), 6)
	if len(resp.Topics) != 1 {
		t.Fatalf("%d answers", len(resp.Topics))
	}
	wantErrCode(t, "twice", resp.Topics[0].ErrorCode, kerr.InvalidRequest)
	if topicGone(t, srv, "twice") {
		t.Error("a duplicated name was deleted")
	}
}

func TestDeleteTopicsStoreDown(t *testing.T) {
	srv := adminServer(t, brokenStore{})
	resp := callAPI[*kmsg.DeleteTopicsResponse](t, srv, deleteTopicsReq("t"), 5)
	wantErrCode(t, "t", resp.Topics[0].ErrorCode, kerr.KafkaStorageError)
}
