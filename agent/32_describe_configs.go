package agent

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/metadata"
)

// DescribeConfigs: v0-4
//
// Behaviour:
//   - TOPIC: every config Sluice accepts, with the topic's value or Kafka's
//     default. Source is TOPIC_CONFIG (DYNAMIC_TOPIC_CONFIG) for a value
//     set on the topic, else DEFAULT_CONFIG. Nothing is read-only or
//     sensitive. An unknown topic is UNKNOWN_TOPIC_OR_PARTITION.
//   - BROKER (named by this agent's node id, or empty): the broker defaults
//     behind the topic configs, and the agent's own topic-creation flags.
//     They are set by flags, so they are read-only. Another broker's id is
//     INVALID_REQUEST, as in Kafka: clients send it to that broker.
//   - Other resource types are INVALID_REQUEST.
//   - ConfigNames, when not null or empty, keeps only the configs named.
//
// Version notes:
//   - v1: Source and synonyms (IncludeSynonyms): a topic value, then the
//     broker default it overrides.
//   - v2: ThrottleMillis. v3: ConfigType and Documentation
//     (IncludeDocumentation). v4: flexible.
func (srv *Server) handleDescribeConfigs(ctx context.Context, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.DescribeConfigsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeConfigsResponse)

	doner := func(rr *kmsg.DescribeConfigsRequestResource, configs []kmsg.DescribeConfigsResponseResourceConfig, err error) {
		st := kmsg.NewDescribeConfigsResponseResource()
		st.ResourceType, st.ResourceName = rr.ResourceType, rr.ResourceName
		st.ErrorCode, st.ErrorMessage = errCode(err), errorMessage(err)
		if err == nil {
			st.Configs = filterConfigs(configs, rr.ConfigNames)
		}
		resp.Resources = append(resp.Resources, st)
	}

	for i := range req.Resources {
		rr := &req.Resources[i]
		switch rr.ResourceType {
		case kmsg.ConfigResourceTypeTopic:
			t, err := srv.registeredTopic(ctx, rr.ResourceName)
			if err != nil {
				doner(rr, nil, err)
				continue
			}
			doner(rr, describeTopicConfigs(req, t), nil)
		case kmsg.ConfigResourceTypeBroker:
			if err := srv.checkBrokerResource(rr.ResourceName); err != nil {
				doner(rr, nil, err)
				continue
			}
			doner(rr, srv.describeBrokerConfigs(req), nil)
		default:
			doner(rr, nil, codeErrorf(kerr.InvalidRequest, "Unsupported resource type %v.", rr.ResourceType))
		}
	}
	return resp, nil
}

func describeTopicConfigs(req *kmsg.DescribeConfigsRequest, t metadata.Topic) []kmsg.DescribeConfigsResponseResourceConfig {
	var out []kmsg.DescribeConfigsResponseResourceConfig
	for _, e := range topicConfigEntries(t.Configs) {
		c := describedConfig(req, e.name, e.value, e.source, e.def)
		if req.IncludeSynonyms {
			if e.source == kmsg.ConfigSourceDynamicTopicConfig {
				c.ConfigSynonyms = append(c.ConfigSynonyms, synonym(e.name, e.value, e.source))
			}
			c.ConfigSynonyms = append(c.ConfigSynonyms, synonym(e.def.synonym, e.def.def, kmsg.ConfigSourceDefaultConfig))
		}
		out = append(out, c)
	}
	return out
}

// describeBrokerConfigs lists the agent's broker configs: Kafka's broker
// defaults for the topic configs, and the flags that shape new topics.
func (srv *Server) describeBrokerConfigs(req *kmsg.DescribeConfigsRequest) []kmsg.DescribeConfigsResponseResourceConfig {
	out := []kmsg.DescribeConfigsResponseResourceConfig{
		describedConfig(req, "auto.create.topics.enable", strconv.FormatBool(srv.cfg.AutoCreateTopics),
			kmsg.ConfigSourceStaticBrokerConfig, topicConfigDef{typ: kmsg.ConfigTypeBoolean, doc: "Create a topic when a client asks for one that does not exist."}),
		describedConfig(req, "num.partitions", strconv.Itoa(srv.cfg.DefaultPartitions),
			kmsg.ConfigSourceStaticBrokerConfig, topicConfigDef{typ: kmsg.ConfigTypeInt, doc: "Partitions of a topic created without a count."}),
	}
	for _, e := range topicConfigEntries(nil) {
		out = append(out, describedConfig(req, e.def.synonym, e.def.def, kmsg.ConfigSourceDefaultConfig, e.def))
	}
	for i := range out {
		out[i].ReadOnly = true
	}
	slices.SortFunc(out, func(a, b kmsg.DescribeConfigsResponseResourceConfig) int {
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

func describedConfig(req *kmsg.DescribeConfigsRequest, name, value string, src kmsg.ConfigSource, d topicConfigDef) kmsg.DescribeConfigsResponseResourceConfig {
	c := kmsg.NewDescribeConfigsResponseResourceConfig()
	c.Name, c.Value, c.Source = name, &value, src
	c.IsDefault = src == kmsg.ConfigSourceDefaultConfig
	c.ConfigType = d.typ
	if req.IncludeDocumentation && d.doc != "" {
		doc := d.doc
		c.Documentation = &doc
	}
	return c
}

func synonym(name, value string, src kmsg.ConfigSource) kmsg.DescribeConfigsResponseResourceConfigConfigSynonym {
	s := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
	s.Name, s.Value, s.Source = name, &value, src
	return s
}

// filterConfigs keeps the configs named; no names (null, or empty as old
// clients send) keep all of them.
func filterConfigs(cs []kmsg.DescribeConfigsResponseResourceConfig, names []string) []kmsg.DescribeConfigsResponseResourceConfig {
	if len(names) == 0 {
		return cs
	}
	return slices.DeleteFunc(cs, func(c kmsg.DescribeConfigsResponseResourceConfig) bool {
		return !slices.Contains(names, c.Name)
	})
}
