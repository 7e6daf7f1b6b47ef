package group

import (
	"time"

	"github.com/sluicehq/sluice/metadata"
)

// Expired returns the committed offsets of a group without members that
// are older than retention at now (Kafka's offsets.retention.minutes, as
// KIP-211 has it): an offset expires retention after the later of its
// commit and the moment the group lost its last member (emptySince, zero
// for a group that never had members).
//
// Only a group without members expires offsets; the caller checks that.
func Expired(now time.Time, retention time.Duration, emptySince time.Time, offsets []metadata.CommittedOffset) []metadata.TopicPartition {
	var out []metadata.TopicPartition
	for _, o := range offsets {
		base := o.CommitTime
		if emptySince.After(base) {
			base = emptySince
		}
		if now.Sub(base) >= retention {
			out = append(out, metadata.TopicPartition{Topic: o.Topic, Partition: o.Partition})
		}
	}
	return out
}

// GroupExpired reports whether a group without members, whose offsets
// have all expired, is itself gone: retention has passed since it became
// empty.
func GroupExpired(now time.Time, retention time.Duration, emptySince time.Time) bool {
	return now.Sub(emptySince) >= retention
}
