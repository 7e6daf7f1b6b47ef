package agent

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/metadata"
)

// topicConfigDef is one topic config Sluice accepts: Kafka's name, default,
// type and rules, so that tools which set it see it kept and described the
// way Kafka would.
type topicConfigDef struct {
	def string
	typ kmsg.ConfigType
	// synonym is the broker config that holds the default in Kafka.
	synonym string
	doc     string
	// validate says why v is refused, or returns "".
	validate func(v string) string
}

// topicConfigDefs are the topic configs Sluice accepts. The produce and read
// paths honour max.message.bytes; retention and cleanup honour retention.*
// and cleanup.policy. The others are kept and described for the tools that
// set them (Connect, Streams, Terraform providers), and change nothing:
// batches are stored as the producer compressed them, segments are objects
// in the bucket, and every partition is as durable as the bucket.
var topicConfigDefs = map[string]topicConfigDef{
	"cleanup.policy": {
		def: "delete", typ: kmsg.ConfigTypeList, synonym: "log.cleanup.policy",
		doc:      "delete, compact, or both: what happens to old records.",
		validate: listOf("delete", "compact"),
	},
	"compression.type": {
		def: "producer", typ: kmsg.ConfigTypeString, synonym: "compression.type",
		doc:      "Accepted for compatibility; batches are stored as the producer compressed them.",
		validate: oneOf("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"),
	},
	"max.message.bytes": {
		def: "1048588", typ: kmsg.ConfigTypeInt, synonym: "message.max.bytes",
		doc:      "Largest record batch the topic accepts.",
		validate: intAtLeast(0),
	},
	"message.timestamp.type": {
		def: "CreateTime", typ: kmsg.ConfigTypeString, synonym: "log.message.timestamp.type",
		doc:      "CreateTime or LogAppendTime.",
		validate: oneOf("CreateTime", "LogAppendTime"),
	},
	"min.insync.replicas": {
		def: "1", typ: kmsg.ConfigTypeInt, synonym: "min.insync.replicas",
		doc:      "Accepted for compatibility; every acknowledged write is in the bucket.",
		validate: intAtLeast(1),
	},
	"retention.bytes": {
		def: "-1", typ: kmsg.ConfigTypeLong, synonym: "log.retention.bytes",
		doc:      "Bytes kept per partition before old data is deleted; -1 for no limit.",
		validate: longAtLeast(-1),
	},
	"retention.ms": {
		def: "604800000", typ: kmsg.ConfigTypeLong, synonym: "log.retention.ms",
		doc:      "How long records are kept; -1 for ever.",
		validate: longAtLeast(-1),
	},
	"segment.bytes": {
		def: "1073741824", typ: kmsg.ConfigTypeInt, synonym: "log.segment.bytes",
		doc:      "Accepted for compatibility; objects are sized by the produce buffer.",
		validate: intAtLeast(1 << 20),
	},
	"segment.ms": {
		def: "604800000", typ: kmsg.ConfigTypeLong, synonym: "log.roll.ms",
		doc:      "Accepted for compatibility; objects are sized by the produce buffer.",
		validate: longAtLeast(1),
	},
}

// topicDefaults are Kafka's defaults for the topic configs Sluice serves.
// A topic stores only what was set on it; these fill in the rest.
var topicDefaults = func() map[string]string {
	m := make(map[string]string, len(topicConfigDefs))
	for k, d := range topicConfigDefs {
		m[k] = d.def
	}
	return m
}()

// topicConfig returns the topic's value for key, or Kafka's default.
func topicConfig(t metadata.Topic, key string) string {
	if v, ok := t.Configs[key]; ok {
		return v
	}
	return topicDefaults[key]
}

// maxMessageBytes is the largest record batch the topic accepts.
func maxMessageBytes(t metadata.Topic) int {
	n, err := strconv.Atoi(topicConfig(t, "max.message.bytes"))
	if err != nil {
		n, _ = strconv.Atoi(topicDefaults["max.message.bytes"])
	}
	return n
}

// validateTopicConfig says why value cannot be set for key, as an
// INVALID_CONFIG error with Kafka's wording.
func validateTopicConfig(key, value string) error {
	d, ok := topicConfigDefs[key]
	if !ok {
		return codeErrorf(kerr.InvalidConfig, "Unknown topic config name: %s", key)
	}
	if why := d.validate(value); why != "" {
		return codeErrorf(kerr.InvalidConfig, "Invalid value %s for configuration %s: %s", value, key, why)
	}
	return nil
}

// createConfigs validates the configs of a topic to be created and returns
// them as they are stored; nil when there are none.
func createConfigs(cs []kmsg.CreateTopicsRequestTopicConfig) (map[string]string, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(cs))
	for _, c := range cs {
		if c.Value == nil {
			return nil, codeErrorf(kerr.InvalidConfig, "Null value not supported for topic configs: %s", c.Name)
		}
		if err := validateTopicConfig(c.Name, *c.Value); err != nil {
			return nil, err
		}
		m[c.Name] = *c.Value
	}
	return m, nil
}

// configEntry is one config of a topic as CreateTopics and DescribeConfigs
// show it.
type configEntry struct {
	name   string
	value  string
	source kmsg.ConfigSource
	def    topicConfigDef
}

// topicConfigEntries lists every accepted config of a topic with its
// value, sorted by name: what was set on the topic, else the default.
func topicConfigEntries(set map[string]string) []configEntry {
	es := make([]configEntry, 0, len(topicConfigDefs))
	for _, k := range slices.Sorted(maps.Keys(topicConfigDefs)) {
		d := topicConfigDefs[k]
		e := configEntry{name: k, value: d.def, source: kmsg.ConfigSourceDefaultConfig, def: d}
		if v, ok := set[k]; ok {
			e.value, e.source = v, kmsg.ConfigSourceDynamicTopicConfig
		}
		es = append(es, e)
	}
	return es
}

// isListConfig reports whether key holds a comma-separated list, which
// IncrementalAlterConfigs may APPEND to and SUBTRACT from.
func isListConfig(key string) bool {
	return topicConfigDefs[key].typ == kmsg.ConfigTypeList
}

// splitList splits a list config value, dropping blanks as Kafka does.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// appendList adds the items of add that cur lacks, keeping cur's order.
func appendList(cur, add string) string {
	items := splitList(cur)
	for _, s := range splitList(add) {
		if !slices.Contains(items, s) {
			items = append(items, s)
		}
	}
	return strings.Join(items, ",")
}

// subtractList removes the items of sub from cur.
func subtractList(cur, sub string) string {
	drop := splitList(sub)
	items := slices.DeleteFunc(splitList(cur), func(s string) bool { return slices.Contains(drop, s) })
	return strings.Join(items, ",")
}

// The validators return why a value is refused, or "" when it is valid.

func longAtLeast(min int64) func(string) string {
	return func(v string) string {
		n, err := strconv.ParseInt(v, 10, 64)
		switch {
		case err != nil:
			return "Not a number of type LONG"
		case n < min:
			return fmt.Sprintf("Value must be at least %d", min)
		}
		return ""
	}
}

func intAtLeast(min int64) func(string) string {
	return func(v string) string {
		n, err := strconv.ParseInt(v, 10, 32)
		switch {
		case err != nil:
			return "Not a number of type INT"
		case n < min:
			return fmt.Sprintf("Value must be at least %d", min)
		}
		return ""
	}
}

func oneOf(valid ...string) func(string) string {
	return func(v string) string {
		if !slices.Contains(valid, v) {
			return "String must be one of: " + strings.Join(valid, ", ")
		}
		return ""
	}
}

func listOf(valid ...string) func(string) string {
	return func(v string) string {
		items := splitList(v)
		if len(items) == 0 {
			return "List must hold at least one of: " + strings.Join(valid, ", ")
		}
		for _, s := range items {
			if !slices.Contains(valid, s) {
				return fmt.Sprintf("Item %s is not one of: %s", s, strings.Join(valid, ", "))
			}
		}
		return ""
	}
}
