package agent

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/metadata"
)

// DeleteTopics: v0-6
//
// Behaviour:
//   - Any agent deletes topics. A deleted topic's offsets and index become
//     unreachable at once; its objects go to the orphan log, and cleanup
//     deletes those that hold no other topic's batches after the grace
//     period (--object-grace).
//     A topic created again under the same name gets a new ID and starts
//     from offset 0.
//   - An unknown name is UNKNOWN_TOPIC_OR_PARTITION, an unknown ID
//     UNKNOWN_TOPIC_ID. A topic named by both name and ID, or by neither,
//     is INVALID_REQUEST, as is a name or ID given twice (answered once).
//   - Deleting by ID finds the name first, then deletes by name: the
//     registry deletes only by name. If the topic is deleted and created
//     again between the two, the new incarnation is deleted.
//   - TimeoutMillis is ignored: deletion is done when the answer is sent.
//
// Version notes:
//   - v1: ThrottleMillis. v4: flexible. v5: ErrorMessage.
//   - v6: topics by name or ID (KIP-516); TopicID in the response.
func (srv *Server) handleDeleteTopics(ctx context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.DeleteTopicsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteTopicsResponse)

	donet := func(name string, id metadata.TopicID, err error) {
		st := kmsg.NewDeleteTopicsResponseTopic()
		if name != "" {
			st.Topic = &name
		}
		st.TopicID, st.ErrorCode, st.ErrorMessage = id, errCode(err), errorMessage(err)
		resp.Topics = append(resp.Topics, st)
	}

	if req.Version <= 5 {
		req.Topics = req.Topics[:0]
		for _, name := range req.TopicNames {
			rt := kmsg.NewDeleteTopicsRequestTopic()
			rt.Topic = kmsg.StringPtr(name)
			req.Topics = append(req.Topics, rt)
		}
	}
	key := func(rt kmsg.DeleteTopicsRequestTopic) string {
		if rt.Topic != nil {
			return "name:" + *rt.Topic
		}
		return "id:" + metadata.TopicID(rt.TopicID).String()
	}
	dups := duplicates(req.Topics, key)
	answered := make(map[string]bool)
	var byID map[metadata.TopicID]metadata.Topic // loaded on first use
	for _, rt := range req.Topics {
		name, id := "", metadata.TopicID(rt.TopicID)
		if rt.Topic != nil {
			name = *rt.Topic
		}
		switch {
		case dups[key(rt)]:
			if !answered[key(rt)] {
				donet(name, id, codeErrorf(kerr.InvalidRequest, "Duplicate topic name or id."))
				answered[key(rt)] = true
			}
			continue
		case rt.Topic != nil && id != (metadata.TopicID{}):
			donet(name, id, codeErrorf(kerr.InvalidRequest, "You may not specify both topic name and topic id."))
			continue
		case rt.Topic == nil && id == (metadata.TopicID{}):
			donet(name, id, codeErrorf(kerr.InvalidRequest, "Neither topic name nor id were specified."))
			continue
		}

		var t metadata.Topic
		var err error
		if rt.Topic == nil {
			if byID == nil {
				byID, err = srv.topicsByID(ctx)
			}
			var ok bool
			if t, ok = byID[id]; !ok && err == nil {
				err = kerr.UnknownTopicID
			}
		} else {
			t, err = srv.deps.Store.Topic(ctx, name)
		}
		if err == nil {
			err = srv.deleteTopic(ctx, t.Name)
		}
		if err != nil {
			donet(name, id, err)
			continue
		}
		donet(t.Name, t.ID, nil)
	}
	return resp, nil
}

// topicsByID indexes every topic by ID.
func (srv *Server) topicsByID(ctx context.Context) (map[metadata.TopicID]metadata.Topic, error) {
	ts, err := srv.topics.all(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing topics: %w", err)
	}
	m := make(map[metadata.TopicID]metadata.Topic, len(ts))
	for _, t := range ts {
		m[t.ID] = t
	}
	return m, nil
}

func (srv *Server) deleteTopic(ctx context.Context, name string) error {
	err := srv.deps.Store.DeleteTopic(ctx, name)
	srv.topics.forget(name)
	switch {
	case errors.Is(err, metadata.ErrUnknownTopic):
		return err
	case err != nil:
		return fmt.Errorf("deleting topic %s: %w", name, err)
	}
	srv.log.Info("deleted topic", "topic", name)
	return nil
}
