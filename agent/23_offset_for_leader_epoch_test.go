package agent

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/metadata"
)

// commitRecords makes n records visible in partition p, as a flush would.
func commitRecords(t *testing.T, srv *Server, p metadata.Partition, n int32) {
	t.Helper()
	_, err := srv.deps.Store.Commit(context.Background(), metadata.Commit{
		Object:  "obj",
		Batches: []metadata.CommitBatch{{Partition: p, Len: 1, Records: n, ProducerID: metadata.NoProducer}},
	})
	if err != nil {
		t.Fatal(err)
	}
}

type epochAsk struct {
	topic          string
	partition      int32
	epoch, current int32
	wantEpoch      int32
	wantEnd        int64
	wantErr        *kerr.Error
}

func TestOffsetForLeaderEpoch(t *testing.T) {
	srv := adminServer(t, nil)
	tp := mustCreateTopic(t, srv, "t", 2, nil)
	commitRecords(t, srv, metadata.Partition{Topic: tp.ID, Index: 1}, 7)

	asks := []epochAsk{
		{"t", 0, 0, -1, 0, 0, nil},
		{"t", 1, 0, -1, 0, 7, nil},
		{"t", 1, 1, -1, -1, -1, nil},  // not known yet
		{"t", 1, -1, -1, -1, -1, nil}, // undefined
		{"t", 1, -5, -1, -5, 0, nil},  // before the first epoch: its start
		{"t", 1, 0, 0, 0, 7, nil},
		{"t", 1, 0, 1, -1, -1, kerr.UnknownLeaderEpoch},
		{"t", 1, 0, -2, -1, -1, kerr.FencedLeaderEpoch},
		{"t", 2, 0, -1, -1, -1, kerr.UnknownTopicOrPartition},
		{"missing", 0, 0, -1, -1, -1, kerr.UnknownTopicOrPartition},
	}
	req := kmsg.NewPtrOffsetForLeaderEpochRequest()
	for _, a := range asks {
		rt := kmsg.NewOffsetForLeaderEpochRequestTopic()
		rt.Topic = a.topic
		rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
		rp.Partition, rp.LeaderEpoch, rp.CurrentLeaderEpoch = a.partition, a.epoch, a.current
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
	}
	for v := int16(0); v <= 4; v++ {
		resp := callAPI[*kmsg.OffsetForLeaderEpochResponse](t, srv, req, v)
		for i, a := range asks {
			if v < 2 && a.current != -1 {
				continue // CurrentLeaderEpoch is not sent
			}
			sp := resp.Topics[i].Partitions[0]
			wantErrCode(t, a.topic, sp.ErrorCode, a.wantErr)
			if sp.EndOffset != a.wantEnd || (v >= 1 && sp.LeaderEpoch != a.wantEpoch) {
				t.Errorf("v%d %+v: epoch %d end %d", v, a, sp.LeaderEpoch, sp.EndOffset)
			}
		}
	}
}
