package agent

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/metadata"
)

// AlterConfigs: v0-2
//
// Behaviour:
//   - TOPIC: replaces the topic's configs with the ones given; every config
//     not named goes back to its default. Each key and value is validated
//     first (INVALID_CONFIG), and nothing changes unless all are valid.
//   - BROKER (this agent's node id, or empty): broker configs come from
//     flags, so any change is INVALID_REQUEST; an empty list is a no-op.
//   - Other resource types are INVALID_REQUEST, as is a resource named
//     twice (every copy is refused).
//   - ValidateOnly validates, and checks that the topic exists, without
//     changing anything.
//
// Version notes:
//   - v1: ThrottleMillis. v2: flexible.
//   - Deprecated by IncrementalAlterConfigs, which changes single keys.
func (srv *Server) handleAlterConfigs(ctx context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.AlterConfigsRequest)
	resp := req.ResponseKind().(*kmsg.AlterConfigsResponse)

	doner := func(rr *kmsg.AlterConfigsRequestResource, err error) {
		st := kmsg.NewAlterConfigsResponseResource()
		st.ResourceType, st.ResourceName = rr.ResourceType, rr.ResourceName
		st.ErrorCode, st.ErrorMessage = errCode(err), errorMessage(err)
		resp.Resources = append(resp.Resources, st)
	}

	dups := duplicates(req.Resources, func(rr kmsg.AlterConfigsRequestResource) string {
		return resourceKey(rr.ResourceType, rr.ResourceName)
	})
	for i := range req.Resources {
		rr := &req.Resources[i]
		dup := dups[resourceKey(rr.ResourceType, rr.ResourceName)]
		doner(rr, srv.alterResource(dup, rr.ResourceType, rr.ResourceName, len(rr.Configs), func() error {
			return srv.replaceTopicConfigs(ctx, rr, req.ValidateOnly)
		}))
	}
	return resp, nil
}

// alterResource answers one resource of AlterConfigs or
// IncrementalAlterConfigs: topics are changed by alterTopic; broker configs
// come from flags, so only an empty change is accepted.
func (srv *Server) alterResource(dup bool, typ kmsg.ConfigResourceType, name string, changes int, alterTopic func() error) error {
	switch {
	case dup:
		return errDuplicateResource
	case typ == kmsg.ConfigResourceTypeTopic:
		return alterTopic()
	case typ == kmsg.ConfigResourceTypeBroker:
		if err := srv.checkBrokerResource(name); err != nil {
			return err
		}
		if changes > 0 {
			return errStaticBrokerConfigs
		}
		return nil
	default:
		return codeErrorf(kerr.InvalidRequest, "Unsupported resource type %v.", typ)
	}
}

func (srv *Server) replaceTopicConfigs(ctx context.Context, rr *kmsg.AlterConfigsRequestResource, validateOnly bool) error {
	if _, err := srv.registeredTopic(ctx, rr.ResourceName); err != nil {
		return err
	}
	set := make(map[string]*string, len(rr.Configs))
	for _, c := range rr.Configs {
		if c.Value == nil {
			return codeErrorf(kerr.InvalidConfig, "Null value not supported for topic configs: %s", c.Name)
		}
		if err := validateTopicConfig(c.Name, *c.Value); err != nil {
			return err
		}
		set[c.Name] = c.Value
	}
	if validateOnly {
		return nil
	}
	return srv.alterTopicConfigs(ctx, rr.ResourceName, set, true)
}

// alterTopicConfigs stores validated changes to a topic's configs.
func (srv *Server) alterTopicConfigs(ctx context.Context, name string, set map[string]*string, replace bool) error {
	err := srv.deps.Store.AlterConfigs(ctx, name, set, replace)
	srv.topics.forget(name)
	switch {
	case errors.Is(err, metadata.ErrUnknownTopic):
		return err
	case err != nil:
		return fmt.Errorf("altering configs of topic %s: %w", name, err)
	}
	srv.log.Info("altered topic configs", "topic", name)
	return nil
}
