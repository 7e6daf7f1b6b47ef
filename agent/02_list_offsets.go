package agent

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/metadata"
	"github.com/sluicehq/sluice/tiering/segment"
)

// Special ListOffsets timestamps.
const (
	latestTimestamp   = -1
	earliestTimestamp = -2
	maxTimestamp      = -3
)

// ListOffsets: v0-7
//
// Behaviour:
//   - Latest (-1) is the high watermark, earliest (-2) the log-start offset,
//     both read from metadata.
//   - A timestamp finds the first batch whose max timestamp is at or after
//     it; the answer is that batch's first offset. Kafka answers the exact
//     record: a consumer seeking by time may see a few earlier records of
//     that batch.
//   - Max timestamp (-3, v7) answers the last offset of the newest entry's
//     batch with the largest timestamp.
//   - No timestamp found answers offset -1 and timestamp -1, as Kafka does.
//
// Version notes:
//   - v0: OldStyleOffsets (MaxNumOffsets ignored beyond one offset).
//   - v2: IsolationLevel (no transactions: both levels read the same).
//   - v4: CurrentLeaderEpoch and LeaderEpoch (always 0). v6: flexible.
func (srv *Server) handleListOffsets(ctx context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.ListOffsetsRequest)
	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
	for _, rt := range req.Topics {
		st := kmsg.NewListOffsetsResponseTopic()
		st.Topic = rt.Topic
		topic, terr := srv.topics.get(ctx, rt.Topic)
		for _, rp := range rt.Partitions {
			sp := kmsg.NewListOffsetsResponseTopicPartition()
			sp.Partition, sp.Offset, sp.Timestamp, sp.LeaderEpoch = rp.Partition, -1, -1, 0
			if p, err := partitionOf(topic, terr, rp.Partition); err != nil {
				sp.ErrorCode = errCode(err)
			} else {
				off, ts, err := srv.listOffset(ctx, p, rp.Timestamp)
				sp.ErrorCode, sp.Offset, sp.Timestamp = errCode(err), off, ts
				if req.Version == 0 && err == nil && off >= 0 {
					sp.OldStyleOffsets = []int64{off}
				}
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}

// listOffset answers one partition: the offset and the timestamp found.
func (srv *Server) listOffset(ctx context.Context, p metadata.Partition, ts int64) (int64, int64, error) {
	o, err := srv.view.offsets(ctx, p)
	if err != nil {
		return -1, -1, err
	}
	switch ts {
	case latestTimestamp:
		return o.HighWatermark, -1, nil
	case earliestTimestamp:
		// Read from the store: retention moves the log start without a
		// notification, and ListOffsets is rare enough to afford it.
		os, err := srv.deps.Store.Offsets(ctx, []metadata.Partition{p})
		if err != nil {
			return -1, -1, err
		}
		return os[0].LogStart, -1, nil
	case maxTimestamp:
		return srv.maxTimestampOffset(ctx, p, o)
	}
	e, ok, err := srv.deps.Store.OffsetForTime(ctx, p, ts)
	if err != nil || !ok {
		return -1, -1, err
	}
	off, found := int64(-1), int64(-1)
	err = srv.walkEntry(ctx, e, func(base int64, h segment.Batch) bool {
		if h.MaxTimestamp >= ts {
			off, found = base, h.MaxTimestamp
			return false
		}
		return true
	})
	return off, found, err
}

func (srv *Server) maxTimestampOffset(ctx context.Context, p metadata.Partition, o metadata.Offsets) (int64, int64, error) {
	if o.HighWatermark == o.LogStart {
		return -1, -1, nil
	}
	es, err := srv.deps.Store.Index(ctx, p, o.HighWatermark-1, 1)
	if err != nil || len(es) == 0 {
		return -1, -1, err
	}
	off, found := int64(-1), int64(-1)
	err = srv.walkEntry(ctx, es[0], func(base int64, h segment.Batch) bool {
		if h.MaxTimestamp >= found {
			off, found = base+int64(h.LastOffsetDelta), h.MaxTimestamp
		}
		return true
	})
	return off, found, err
}

// walkEntry calls fn with each batch of e and its offset while fn returns
// true.
func (srv *Server) walkEntry(ctx context.Context, e metadata.IndexEntry, fn func(base int64, b segment.Batch) bool) error {
	data, err := srv.view.reader.Read(ctx, e.Object, e.Pos, e.Len)
	if err != nil {
		return err
	}
	return walkBatches(data, e.BaseOffset, fn)
}
