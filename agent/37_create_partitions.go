package agent

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/metadata"
)

// CreatePartitions: v0-3
//
// Behaviour:
//   - Raises a topic's partition count to Count. A count that is not larger
//     than the current one is INVALID_PARTITIONS, as in Kafka; partitions
//     are never removed.
//   - An Assignment is refused with INVALID_REQUEST: agents place partitions
//     themselves.
//   - A topic named twice is answered once, with INVALID_REQUEST, and not
//     changed; the other topics of the request go ahead.
//   - ValidateOnly runs every check against the registry and changes
//     nothing. TimeoutMillis is ignored.
//
// Version notes:
//   - v1: ThrottleMillis. v2: flexible. v3: same as v2.
func (srv *Server) handleCreatePartitions(ctx context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.CreatePartitionsRequest)
	resp := req.ResponseKind().(*kmsg.CreatePartitionsResponse)

	donet := func(name string, err error) {
		st := kmsg.NewCreatePartitionsResponseTopic()
		st.Topic, st.ErrorCode, st.ErrorMessage = name, errCode(err), errorMessage(err)
		resp.Topics = append(resp.Topics, st)
	}

	dups := duplicates(req.Topics, func(rt kmsg.CreatePartitionsRequestTopic) string { return rt.Topic })
	answered := make(map[string]bool)
	for _, rt := range req.Topics {
		if dups[rt.Topic] {
			if !answered[rt.Topic] {
				donet(rt.Topic, codeErrorf(kerr.InvalidRequest, "Duplicate topic name."))
				answered[rt.Topic] = true
			}
			continue
		}
		donet(rt.Topic, srv.createPartitions(ctx, &rt, req.ValidateOnly))
	}
	return resp, nil
}

func (srv *Server) createPartitions(ctx context.Context, rt *kmsg.CreatePartitionsRequestTopic, validateOnly bool) error {
	if len(rt.Assignment) > 0 {
		return codeErrorf(kerr.InvalidRequest, "Assignment is not supported: agents place partitions themselves.")
	}
	t, err := srv.deps.Store.Topic(ctx, rt.Topic)
	switch {
	case errors.Is(err, metadata.ErrUnknownTopic):
		return err
	case err != nil:
		return fmt.Errorf("reading topic %s: %w", rt.Topic, err)
	case rt.Count < t.Partitions:
		return codeErrorf(kerr.InvalidPartitions,
			"Topic currently has %d partitions, which is higher than the requested %d.", t.Partitions, rt.Count)
	case int(rt.Count) > srv.cfg.MaxPartitions:
		return codeErrorf(kerr.InvalidPartitions,
			"Number of partitions %d is above this cluster's limit of %d (--max-partitions).", rt.Count, srv.cfg.MaxPartitions)
	case rt.Count == t.Partitions:
		return codeErrorf(kerr.InvalidPartitions, "Topic already has %d partitions.", t.Partitions)
	case validateOnly:
		return nil
	}
	err = srv.deps.Store.AddPartitions(ctx, rt.Topic, rt.Count)
	srv.topics.forget(rt.Topic)
	switch {
	case errors.Is(err, metadata.ErrUnknownTopic):
		return err
	case errors.Is(err, metadata.ErrInvalidPartitions):
		// Another agent raised the count since we read it.
		return codeErrorf(kerr.InvalidPartitions, "Topic already has %d or more partitions.", rt.Count)
	case err != nil:
		return fmt.Errorf("adding partitions to %s: %w", rt.Topic, err)
	}
	srv.log.Info("added partitions", "topic", rt.Topic, "partitions", rt.Count)
	return nil
}
