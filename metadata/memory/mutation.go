package memory

import (
	"maps"

	"github.com/sluicehq/sluice/metadata"
)

// A mutation is one change to the store; exactly one field is set. It is
// what the log records, so its JSON form is the log format: renaming a field
// here or in the metadata types it holds is a format change.
type mutation struct {
	// Version is set only in a log's first record.
	Version       int              `json:"version,omitempty"`
	CreateTopic   *metadata.Topic  `json:"create_topic,omitempty"`
	DeleteTopic   *string          `json:"delete_topic,omitempty"`
	AddPartitions *addPartitions   `json:"add_partitions,omitempty"`
	AlterConfigs  *alterConfigs    `json:"alter_configs,omitempty"`
	Commit        *metadata.Commit `json:"commit,omitempty"`
	// ProducerID is the producer id just handed out.
	ProducerID *int64 `json:"producer_id,omitempty"`
	// Group changes one consumer group's state or offsets.
	Group *groupChange `json:"group,omitempty"`
	// ReplaceEntries and Trim are compaction's and retention's changes to
	// a partition's index; see lifecycle.go.
	ReplaceEntries *replaceEntries `json:"replace_entries,omitempty"`
	Trim           *trimLog        `json:"trim,omitempty"`
}

type addPartitions struct {
	Name  string `json:"name"`
	Total int32  `json:"total"`
}

type alterConfigs struct {
	Name    string             `json:"name"`
	Set     map[string]*string `json:"set"`
	Replace bool               `json:"replace"`
}

// commitOutcome is what applying a Commit mutation produced.
type commitOutcome struct {
	results  []metadata.BatchResult
	appended []metadata.Appended
}

// apply makes the change m describes. Callers check preconditions first,
// and replay applies only what once passed them, so apply cannot fail; it
// skips a change whose topic is missing rather than panic on a bad log.
func (s *Store) apply(m mutation) commitOutcome {
	switch {
	case m.CreateTopic != nil:
		t := *m.CreateTopic
		t.Configs = maps.Clone(t.Configs)
		s.topics[t.Name] = &t
		s.byID[t.ID] = &t
	case m.DeleteTopic != nil:
		s.applyDelete(*m.DeleteTopic)
	case m.AddPartitions != nil:
		if t := s.topics[m.AddPartitions.Name]; t != nil {
			t.Partitions = m.AddPartitions.Total
		}
	case m.AlterConfigs != nil:
		if t := s.topics[m.AlterConfigs.Name]; t != nil {
			t.Configs = alter(t.Configs, m.AlterConfigs.Set, m.AlterConfigs.Replace)
		}
	case m.Commit != nil:
		return s.applyCommit(*m.Commit)
	case m.ProducerID != nil:
		s.nextProducer = max(s.nextProducer, *m.ProducerID+1)
	case m.Group != nil:
		s.applyGroup(*m.Group)
	case m.ReplaceEntries != nil:
		s.applyReplace(*m.ReplaceEntries)
	case m.Trim != nil:
		s.applyTrim(*m.Trim)
	}
	return commitOutcome{}
}

// applyDelete forgets a topic and its partitions' state: a topic created
// again under the name has a new ID and starts from offset 0.
func (s *Store) applyDelete(name string) {
	t := s.topics[name]
	if t == nil {
		return
	}
	for i := range t.Partitions {
		delete(s.parts, metadata.Partition{Topic: t.ID, Index: i})
	}
	delete(s.topics, name)
	delete(s.byID, t.ID)
}

// alter returns configs with set applied: nil values delete, and with
// replace every key not named is deleted first.
func alter(configs map[string]string, set map[string]*string, replace bool) map[string]string {
	out := make(map[string]string, len(configs)+len(set))
	if !replace {
		maps.Copy(out, configs)
	}
	for k, v := range set {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = *v
		}
	}
	return out
}
