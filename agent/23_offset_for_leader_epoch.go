package agent

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/metadata"
)

// OffsetForLeaderEpoch: v0-4
//
// Behaviour:
//   - Every partition has leader epoch 0 for ever: its log never truncates,
//     because only the metadata store assigns offsets. Consumers use this
//     API to detect truncation (KIP-320), which therefore never shows.
//   - Epoch 0 ends at the high watermark, read from the store (not the
//     cache) in one call for the whole request: an end offset behind what
//     the consumer already read would look like truncation to it.
//   - As Kafka's epoch cache answers: a requested epoch above 0 is not
//     known yet (epoch -1, offset -1, no error); -1 is undefined (-1, -1);
//     an epoch below -1 precedes the first epoch (that epoch, the
//     log-start offset).
//   - CurrentLeaderEpoch (v2+) is checked as Kafka checks it: -1 skips the
//     check, above 0 is UNKNOWN_LEADER_EPOCH (the client knows a newer
//     leader than we do), below 0 is FENCED_LEADER_EPOCH.
//   - ReplicaID (v3+) is ignored: agents have no followers.
//
// Version notes:
//   - v1: LeaderEpoch in the response. v2: CurrentLeaderEpoch,
//     ThrottleMillis. v3: ReplicaID. v4: flexible.
func (srv *Server) handleOffsetForLeaderEpoch(ctx context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.OffsetForLeaderEpochRequest)
	resp := req.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)

	// One store call answers every partition that needs its offsets; ask
	// records where each answer goes.
	type answer struct{ t, p int }
	var (
		parts []metadata.Partition
		asks  []answer
	)
	donep := func(st *kmsg.OffsetForLeaderEpochResponseTopic, partition int32, err error) *kmsg.OffsetForLeaderEpochResponseTopicPartition {
		sp := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
		sp.Partition, sp.ErrorCode = partition, errCode(err)
		st.Partitions = append(st.Partitions, sp)
		return &st.Partitions[len(st.Partitions)-1]
	}
	for _, rt := range req.Topics {
		st := kmsg.NewOffsetForLeaderEpochResponseTopic()
		st.Topic = rt.Topic
		topic, terr := srv.topics.get(ctx, rt.Topic)
		for _, rp := range rt.Partitions {
			switch {
			case terr != nil:
				donep(&st, rp.Partition, terr)
			case rp.Partition < 0 || rp.Partition >= topic.Partitions:
				donep(&st, rp.Partition, kerr.UnknownTopicOrPartition)
			case req.Version >= 2 && rp.CurrentLeaderEpoch > 0:
				donep(&st, rp.Partition, kerr.UnknownLeaderEpoch)
			case req.Version >= 2 && rp.CurrentLeaderEpoch < -1:
				donep(&st, rp.Partition, kerr.FencedLeaderEpoch)
			case rp.LeaderEpoch == -1 || rp.LeaderEpoch > 0:
				donep(&st, rp.Partition, nil) // epoch and offset stay -1
			default:
				donep(&st, rp.Partition, nil)
				parts = append(parts, metadata.Partition{Topic: topic.ID, Index: rp.Partition})
				asks = append(asks, answer{len(resp.Topics), len(st.Partitions) - 1})
			}
		}
		resp.Topics = append(resp.Topics, st)
	}
	if len(parts) == 0 {
		return resp, nil
	}

	offsets, err := srv.deps.Store.Offsets(ctx, parts)
	for i, a := range asks {
		sp := &resp.Topics[a.t].Partitions[a.p]
		if err != nil {
			sp.ErrorCode = errCode(err)
			continue
		}
		if epoch := req.Topics[a.t].Partitions[a.p].LeaderEpoch; epoch == 0 {
			sp.LeaderEpoch, sp.EndOffset = 0, offsets[i].HighWatermark
		} else {
			sp.LeaderEpoch, sp.EndOffset = epoch, offsets[i].LogStart
		}
	}
	return resp, nil
}
