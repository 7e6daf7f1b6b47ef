package agent

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/metadata"
)

// IncrementalAlterConfigs: v0-1
//
// Behaviour:
//   - TOPIC: SET sets a key, DELETE returns it to its default, APPEND and
//     SUBTRACT add items to or remove them from a list config
//     (cleanup.policy), starting from the default when the key is not set.
//     APPEND or SUBTRACT on any other key is INVALID_REQUEST, an unknown
//     key or a bad resulting value INVALID_CONFIG, and nothing changes
//     unless every operation is valid.
//   - A key named twice in one resource is INVALID_REQUEST, as is a
//     resource named twice (every copy is refused).
//   - BROKER (this agent's node id, or empty): broker configs come from
//     flags, so any change is INVALID_REQUEST; an empty list is a no-op.
//   - Other resource types are INVALID_REQUEST.
//   - ValidateOnly validates, and checks that the topic exists, without
//     changing anything.
//   - The new values are computed from the topic as read, then written:
//     two agents appending to one list at the same moment may lose one
//     append, as with two Kafka controllers racing.
//
// Version notes:
//   - v1: flexible.
func (srv *Server) handleIncrementalAlterConfigs(ctx context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.IncrementalAlterConfigsRequest)
	resp := req.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)

	doner := func(rr *kmsg.IncrementalAlterConfigsRequestResource, err error) {
		st := kmsg.NewIncrementalAlterConfigsResponseResource()
		st.ResourceType, st.ResourceName = rr.ResourceType, rr.ResourceName
		st.ErrorCode, st.ErrorMessage = errCode(err), errorMessage(err)
		resp.Resources = append(resp.Resources, st)
	}

	dups := duplicates(req.Resources, func(rr kmsg.IncrementalAlterConfigsRequestResource) string {
		return resourceKey(rr.ResourceType, rr.ResourceName)
	})
	for i := range req.Resources {
		rr := &req.Resources[i]
		dup := dups[resourceKey(rr.ResourceType, rr.ResourceName)]
		doner(rr, srv.alterResource(dup, rr.ResourceType, rr.ResourceName, len(rr.Configs), func() error {
			return srv.incrementalTopicConfigs(ctx, rr, req.ValidateOnly)
		}))
	}
	return resp, nil
}

func (srv *Server) incrementalTopicConfigs(ctx context.Context, rr *kmsg.IncrementalAlterConfigsRequestResource, validateOnly bool) error {
	t, err := srv.registeredTopic(ctx, rr.ResourceName)
	if err != nil {
		return err
	}
	keys := duplicates(rr.Configs, func(c kmsg.IncrementalAlterConfigsRequestResourceConfig) string { return c.Name })
	if len(keys) > 0 {
		return codeErrorf(kerr.InvalidRequest, "Error due to duplicate config keys")
	}
	set := make(map[string]*string, len(rr.Configs))
	for _, c := range rr.Configs {
		v, err := incrementalValue(t, c)
		if err != nil {
			return err
		}
		set[c.Name] = v
	}
	if validateOnly {
		return nil
	}
	return srv.alterTopicConfigs(ctx, rr.ResourceName, set, false)
}

// incrementalValue is the value one operation leaves for its key: nil to
// delete it.
func incrementalValue(t metadata.Topic, c kmsg.IncrementalAlterConfigsRequestResourceConfig) (*string, error) {
	if _, ok := topicConfigDefs[c.Name]; !ok {
		return nil, codeErrorf(kerr.InvalidConfig, "Unknown topic config name: %s", c.Name)
	}
	if c.Value == nil && c.Op != kmsg.IncrementalAlterConfigOpDelete {
		return nil, codeErrorf(kerr.InvalidRequest, "Null value not supported for: %s", c.Name)
	}
	var v string
	switch c.Op {
	case kmsg.IncrementalAlterConfigOpDelete:
		return nil, nil
	case kmsg.IncrementalAlterConfigOpSet:
		v = *c.Value
	case kmsg.IncrementalAlterConfigOpAppend:
		if !isListConfig(c.Name) {
			return nil, codeErrorf(kerr.InvalidRequest, "Config value append is not allowed for config key: %s", c.Name)
		}
		v = appendList(topicConfig(t, c.Name), *c.Value)
	case kmsg.IncrementalAlterConfigOpSubtract:
		if !isListConfig(c.Name) {
			return nil, codeErrorf(kerr.InvalidRequest, "Config value subtract is not allowed for config key: %s", c.Name)
		}
		v = subtractList(topicConfig(t, c.Name), *c.Value)
	default:
		return nil, codeErrorf(kerr.InvalidRequest, "Unknown alter config operation %d for key %s", c.Op, c.Name)
	}
	if err := validateTopicConfig(c.Name, v); err != nil {
		return nil, err
	}
	return &v, nil
}
