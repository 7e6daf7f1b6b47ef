package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/agent/produce"
	"github.com/sluicehq/sluice/metadata"
	"github.com/sluicehq/sluice/tiering/segment"
)

// Produce: v0-11
//
// Behaviour:
//   - Each partition's records must be exactly one v2 record batch with a
//     valid CRC-32C, no larger than the topic's max.message.bytes. Batches
//     are kept byte for byte as sent: no decompression, no re-encoding.
//   - Valid batches of the whole request go into the agent's produce buffer
//     together. The response waits until the flush holding them is uploaded
//     and committed, and carries the offsets the commit assigned.
//   - acks=0 gets no response at all, as in Kafka.
//   - The connection's reader holds a request's room in the produce buffer
//     before it reads the body: while the buffer is full, requests wait
//     unread in the socket, as Kafka's request memory pool makes them, and
//     not as bodies in memory that the buffer does not count. After
//     --reserve-wait a request is read anyway; if no room comes within its
//     TimeoutMillis it is answered REQUEST_TIMED_OUT, which clients retry.
//   - Transactional batches are refused until transactions exist.
//   - Internal topics are refused with INVALID_TOPIC_EXCEPTION, as Kafka
//     refuses clients' appends to them.
//   - A topic with message.timestamp.type=LogAppendTime gets the agent's
//     clock in each batch header (CRC recomputed; records untouched).
//
// Version notes:
//   - v0-2: older message formats are answered with
//     UNSUPPORTED_FOR_MESSAGE_FORMAT when their batches are not v2.
//   - v2: LogAppendTime in the response (-1: CreateTime).
//   - v5: LogStartOffset.
//   - v8: RecordErrors and ErrorMessage.
//   - v9: flexible versions.
func (srv *Server) handleProduce(ctx context.Context, s *slot) {
	req := s.req.kreq.(*kmsg.ProduceRequest)
	resp := req.ResponseKind().(*kmsg.ProduceResponse)

	type target struct{ t, p int } // response topic and partition indexes
	var (
		batches []produce.Batch
		targets []target
	)
	donep := func(rt *kmsg.ProduceResponseTopic, partition int32, code int16, msg string) *kmsg.ProduceResponseTopicPartition {
		rp := kmsg.NewProduceResponseTopicPartition()
		rp.Partition, rp.ErrorCode, rp.BaseOffset, rp.LogAppendTime, rp.LogStartOffset = partition, code, -1, -1, -1
		if msg != "" {
			rp.ErrorMessage = &msg
		}
		rt.Partitions = append(rt.Partitions, rp)
		return &rt.Partitions[len(rt.Partitions)-1]
	}
	for _, reqT := range req.Topics {
		rt := kmsg.NewProduceResponseTopic()
		rt.Topic = reqT.Topic
		topic, terr := srv.topics.get(ctx, reqT.Topic)
		for _, reqP := range reqT.Partitions {
			p, perr := partitionOf(topic, terr, reqP.Partition)
			switch {
			case perr != nil:
				donep(&rt, reqP.Partition, errCode(perr), "")
			case req.TransactionID != nil:
				donep(&rt, reqP.Partition, kerr.TransactionalIDAuthorizationFailed.Code, "transactions are not supported")
			case isInternalTopic(reqT.Topic):
				donep(&rt, reqP.Partition, kerr.InvalidTopicException.Code, "Cannot append to internal topic "+reqT.Topic)
			default:
				b, err := produceBatch(topic, p, reqP.Records)
				if err != nil {
					donep(&rt, reqP.Partition, errCode(err), err.Error())
					continue
				}
				rp := donep(&rt, reqP.Partition, 0, "")
				if topicConfig(topic, "message.timestamp.type") == "LogAppendTime" {
					b.MaxTimestamp = time.Now().UnixMilli()
					segment.SetLogAppendTime(b.Data, b.MaxTimestamp)
					rp.LogAppendTime = b.MaxTimestamp
				}
				batches = append(batches, b)
				targets = append(targets, target{len(resp.Topics), len(rt.Partitions) - 1})
			}
		}
		resp.Topics = append(resp.Topics, rt)
	}

	// The batches hold the records now; the request keeps the response's
	// slot until it is answered and must not keep the records alive as
	// well, so that the buffer can let them go once they are encoded.
	for i := range req.Topics {
		for j := range req.Topics[i].Partitions {
			req.Topics[i].Partitions[j].Records = nil
		}
	}
	if len(batches) == 0 {
		srv.buf.Release(s.req.reserved)
		if req.Acks == 0 {
			s.done <- outcome{skip: true}
			return
		}
		s.respond(resp, nil)
		return
	}
	if req.Acks == 0 {
		_ = srv.buf.Append(ctx, batches, s.req.reserved, func([]metadata.BatchResult, error) {})
		s.done <- outcome{skip: true}
		return
	}
	setErr := func(err error) {
		for _, tg := range targets {
			resp.Topics[tg.t].Partitions[tg.p].ErrorCode = errCode(err)
		}
	}
	actx, cancel := context.WithTimeout(ctx, time.Duration(max(req.TimeoutMillis, 1))*time.Millisecond)
	defer cancel()
	err := srv.buf.Append(actx, batches, s.req.reserved, func(results []metadata.BatchResult, err error) {
		if err != nil {
			setErr(err)
			s.respond(resp, nil)
			return
		}
		for i, tg := range targets {
			rp := &resp.Topics[tg.t].Partitions[tg.p]
			r := results[i]
			rp.ErrorCode, rp.LogStartOffset = errCode(r.Err), r.LogStart
			if r.Err == nil {
				rp.BaseOffset = r.BaseOffset
			}
		}
		s.respond(resp, nil)
	})
	if err != nil {
		setErr(err)
		s.respond(resp, nil)
	}
}

// produceBatch validates one partition's records and describes the batch.
func produceBatch(t metadata.Topic, p metadata.Partition, records []byte) (produce.Batch, error) {
	h, err := segment.ParseBatch(records)
	if err != nil {
		return produce.Batch{}, fmt.Errorf("partition %d: %w", p.Index, err)
	}
	switch {
	case len(records) > maxMessageBytes(t):
		return produce.Batch{}, kerr.MessageTooLarge
	case h.Attributes.Transactional() || h.Attributes.Control():
		return produce.Batch{}, kerr.TransactionalIDAuthorizationFailed
	case h.NumRecords <= 0 || h.LastOffsetDelta != h.NumRecords-1:
		return produce.Batch{}, kerr.InvalidRecord
	}
	return produce.Batch{
		Topic:          t.Name,
		Partition:      p,
		Data:           records,
		Records:        h.LastOffsetDelta + 1,
		FirstTimestamp: h.FirstTimestamp,
		MaxTimestamp:   h.MaxTimestamp,
		ProducerID:     producerID(h.ProducerID),
		ProducerEpoch:  h.ProducerEpoch,
		BaseSequence:   h.BaseSequence,
	}, nil
}

func producerID(id int64) int64 {
	if id < 0 {
		return metadata.NoProducer
	}
	return id
}
