package agent

import (
	"context"
	"encoding/binary"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/metadata"
	"github.com/sluicehq/sluice/tiering/cache"
)

// Fetch: v0-12
//
// Behaviour:
//   - Batches are returned as producers sent them, with the base offset the
//     commit assigned written into each batch header.
//   - Whole batches only, starting with the one holding the fetch offset;
//     the client skips records before it.
//   - MaxBytes and each partition's MaxBytes are honoured, except that the
//     first batch of the response is returned even when larger (KIP-74), so
//     a consumer can always make progress.
//   - Long poll: when fewer than MinBytes are available the request waits up
//     to MaxWaitMillis for a commit notification on one of its partitions.
//     It never polls metadata on a timer.
//   - Reading is bounded in time too: once MaxWaitMillis (at least
//     minFetchReadTime) has passed and the response holds a batch, no more
//     index entries are read. Each entry is a ranged GET, and a partition
//     of many small ones could otherwise keep the answer past the client's
//     read timeout (MaxWait plus 10s in franz-go), which then drops the
//     connection. A shorter answer is always allowed: the client fetches on.
//   - No fetch sessions: SessionID 0 is always answered (full fetches).
//
// Version notes:
//   - v3: MaxBytes. v4: isolation level (read_committed equals
//     read_uncommitted here: there are no transactions), LastStableOffset.
//   - v5: LogStartOffset. v7: sessions (not used). v11: RackID (ignored).
//   - v12: flexible versions.
func (srv *Server) handleFetch(ctx context.Context, s *slot) {
	req := s.req.kreq.(*kmsg.FetchRequest)
	c := s.req.conn
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		resp, next := srv.fetch(ctx, req)
		s.respond(resp, nil)
		// After answering, so that the response never waits on the
		// index lookups of what comes next.
		srv.readAhead(ctx, next, int(req.MaxBytes))
	}()
}

// fetch builds the response, waiting for data when it falls short. It also
// returns the partitions the response left behind their high watermark.
func (srv *Server) fetch(ctx context.Context, req *kmsg.FetchRequest) (*kmsg.FetchResponse, []wantRead) {
	start := time.Now()
	wait := time.Duration(max(req.MaxWaitMillis, 0)) * time.Millisecond
	deadline := start.Add(wait)
	stop := start.Add(max(wait, minFetchReadTime))
	minBytes := max(int(req.MinBytes), 1)
	wake := make(chan struct{}, 1)
	var unsubscribe func()
	defer func() {
		if unsubscribe != nil {
			unsubscribe()
		}
	}()
	for {
		resp, n, parts, next := srv.fetchOnce(ctx, req, stop)
		if n >= minBytes || !time.Now().Before(deadline) || ctx.Err() != nil || !srv.view.isLive() {
			return resp, next
		}
		if unsubscribe == nil {
			// Subscribing after the first read and reading again before
			// waiting means a commit between the two is never missed.
			unsubscribe = srv.view.subscribe(wake, parts)
			continue
		}
		timer := time.NewTimer(time.Until(deadline))
		select {
		case <-wake:
		case <-timer.C:
		case <-ctx.Done():
		}
		timer.Stop()
	}
}

// minFetchReadTime is the least time a fetch may spend reading before it
// answers with what it has, for clients that wait less or not at all.
const minFetchReadTime = time.Second

// fetchOnce reads what is available now, reading no further entries after
// stop once it has a batch. It returns the response, the record bytes in
// it, the partitions it touched, and those it left behind their high
// watermark, for readAhead.
func (srv *Server) fetchOnce(ctx context.Context, req *kmsg.FetchRequest, stop time.Time) (*kmsg.FetchResponse, int, []metadata.Partition, []wantRead) {
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	budget := int(req.MaxBytes)
	if req.Version < 3 || budget <= 0 {
		budget = int(^uint32(0) >> 1)
	}
	r := srv.prefetch(ctx, req, budget)
	var (
		total int
		parts []metadata.Partition
		next  []wantRead
	)
	for _, rt := range req.Topics {
		st := kmsg.NewFetchResponseTopic()
		st.Topic = rt.Topic
		topic, terr := srv.topics.get(ctx, rt.Topic)
		for _, rp := range rt.Partitions {
			sp := kmsg.NewFetchResponseTopicPartition()
			sp.Partition, sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = rp.Partition, -1, -1, -1
			if p, err := partitionOf(topic, terr, rp.Partition); err != nil {
				sp.ErrorCode = errCode(err)
			} else {
				parts = append(parts, p)
				limit := min(int(rp.PartitionMaxBytes), budget)
				if total > 0 && !time.Now().Before(stop) {
					limit = 0 // offsets only: out of time
				}
				n := srv.fetchPartition(ctx, r, &sp, p, rp.FetchOffset, limit, total == 0, stop)
				total += n
				budget -= n
				if off, ok := nextOffset(sp.RecordBatches); ok && off < sp.HighWatermark {
					next = append(next, wantRead{p, off, sp.HighWatermark, int(rp.PartitionMaxBytes)})
				}
			}
			if sp.RecordBatches == nil {
				// Kafka sends empty records, never null: librdkafka
				// refuses a null message set.
				sp.RecordBatches = []byte{}
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, total, parts, next
}

// wantRead is a partition a fetch reads, from offset below hw, up to limit
// bytes.
type wantRead struct {
	p          metadata.Partition
	offset, hw int64
	limit      int
}

// readAhead starts reading what the consumer will most likely fetch next:
// for each partition still behind the tail, the ranges after what this
// response holds. A consumer reading through the log then finds its next
// fetch's bytes cached or loading instead of waiting for their GETs while
// it decodes this response. It reads at most a quarter of the fetch cache,
// so that several consumers' read-ahead does not evict itself.
func (srv *Server) readAhead(ctx context.Context, ws []wantRead, budget int) {
	if budget <= 0 {
		budget = int(^uint32(0) >> 1)
	}
	budget = min(budget, int(srv.cfg.FetchCacheBytes/4))
	var ks []cache.Key
	for _, w := range ws {
		if budget <= 0 {
			break
		}
		var planned int
		ks, planned, _ = srv.view.plan(ctx, ks, w.p, w.offset, w.hw, min(w.limit, budget))
		budget -= min(planned, w.limit)
	}
	if len(ks) > 0 {
		srv.view.reader.Prefetch(ctx, ks)
	}
}

// nextOffset returns the offset after the last of the record batches in
// b, walking only their lengths, which the read already checked.
func nextOffset(b []byte) (int64, bool) {
	const lengthEnd, lastDeltaEnd = 12, 27
	last := -1
	for pos := 0; pos+lastDeltaEnd <= len(b); {
		last = pos
		n := int(int32(binary.BigEndian.Uint32(b[pos+8 : pos+lengthEnd])))
		if n <= 0 {
			break
		}
		pos += lengthEnd + n
	}
	if last < 0 {
		return 0, false
	}
	base := int64(binary.BigEndian.Uint64(b[last:]))
	return base + int64(int32(binary.BigEndian.Uint32(b[last+23:]))) + 1, true
}

// prefetch starts reading, all at once, the object ranges that the
// partitions of req will want, as if each took what the index says it has,
// up to its max-bytes, in request order until the response's runs out.
// Ranges of one object that lie close together become one GET. The reads,
// still one partition after another in request order so that every
// max-bytes limit holds as before, then wait for those loads. What they
// leave unread stays cached for the next fetch.
func (srv *Server) prefetch(ctx context.Context, req *kmsg.FetchRequest, budget int) byteReader {
	var (
		wants  []wantRead
		behind []metadata.Partition
	)
	for _, rt := range req.Topics {
		topic, err := srv.topics.get(ctx, rt.Topic)
		if err != nil {
			continue
		}
		for _, rp := range rt.Partitions {
			p, err := partitionOf(topic, nil, rp.Partition)
			if err != nil || rp.PartitionMaxBytes <= 0 {
				continue
			}
			o, err := srv.view.offsets(ctx, p)
			if err != nil || rp.FetchOffset < o.LogStart || rp.FetchOffset >= o.HighWatermark {
				continue
			}
			wants = append(wants, wantRead{p, rp.FetchOffset, o.HighWatermark, int(rp.PartitionMaxBytes)})
			if srv.view.behind(p, rp.FetchOffset) {
				behind = append(behind, p)
			}
		}
	}
	if err := srv.view.checkStarts(ctx, behind); err != nil {
		// The reads meet the store's failure again and answer it.
		return srv.view.reader
	}
	var ks []cache.Key
	for _, w := range wants {
		if budget <= 0 {
			break
		}
		o, err := srv.view.offsets(ctx, w.p)
		if err != nil || w.offset < o.LogStart {
			continue
		}
		// An index error here is met again, and answered, by the read.
		var planned int
		ks, planned, _ = srv.view.plan(ctx, ks, w.p, w.offset, max(w.hw, o.HighWatermark), min(w.limit, budget))
		budget -= min(planned, w.limit)
	}
	if len(ks) == 0 {
		return srv.view.reader
	}
	return srv.view.reader.Prefetch(ctx, ks)
}

// fetchPartition fills sp from offset and returns the bytes added.
func (srv *Server) fetchPartition(ctx context.Context, r byteReader, sp *kmsg.FetchResponseTopicPartition, p metadata.Partition, offset int64, limit int, first bool, stop time.Time) int {
	o, err := srv.view.offsets(ctx, p)
	if err != nil {
		sp.ErrorCode = errCode(err)
		return 0
	}
	sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = o.HighWatermark, o.HighWatermark, o.LogStart
	if offset < o.LogStart || offset > o.HighWatermark {
		sp.ErrorCode = kerr.OffsetOutOfRange.Code
		return 0
	}
	if offset == o.HighWatermark || (limit <= 0 && !first) {
		return 0
	}
	records, err := srv.view.read(ctx, r, p, offset, o.HighWatermark, limit, first, stop)
	switch {
	case errors.Is(err, errOffsetOutOfRange):
		// Retention moved the log start past what was cached: answer with
		// the store's bounds, which the client's next ListOffsets sees too.
		srv.view.refresh(p)
		if fresh, err := srv.view.offsets(ctx, p); err == nil {
			sp.LogStartOffset, sp.HighWatermark, sp.LastStableOffset = fresh.LogStart, fresh.HighWatermark, fresh.HighWatermark
		}
		sp.ErrorCode = kerr.OffsetOutOfRange.Code
	case errors.Is(err, context.Canceled):
		// The client went away or the agent is stopping: nobody reads
		// this answer, and nothing failed.
	case err != nil:
		srv.log.Warn("reading partition", "partition", p.Index, "offset", offset, "err", err)
		sp.ErrorCode = errCode(err)
	}
	sp.RecordBatches = records
	return len(records)
}
