package metadata

import "errors"

var (
	// ErrTopicExists is returned by CreateTopic when the name is taken.
	ErrTopicExists = errors.New("topic already exists")
	// ErrUnknownTopic is returned when a named topic or topic ID does not exist.
	ErrUnknownTopic = errors.New("unknown topic")
	// ErrInvalidPartitions is returned by AddPartitions when the new count is
	// not larger than the current one.
	ErrInvalidPartitions = errors.New("invalid partition count")
	// ErrOutOfOrderSequence is set on a committed batch whose producer
	// sequence leaves a gap after the last one accepted for its partition.
	ErrOutOfOrderSequence = errors.New("out of order producer sequence")
	// ErrInvalidProducerEpoch is set on a committed batch whose producer
	// epoch is older than the newest one seen for its producer id.
	ErrInvalidProducerEpoch = errors.New("stale producer epoch")
	// ErrFenced is returned by Commit when the store's epoch no longer
	// matches the one the caller started with: the store has lost
	// acknowledged writes (a failover or a restore) and nothing may be
	// written until an operator intervenes.
	ErrFenced = errors.New("metadata store fenced: it has lost acknowledged writes")
	// ErrShardFailed is set on the batches of a commit to a sharded store
	// whose shard failed to commit them while another shard committed its
	// part. As after a failed Commit, a shard that timed out may have
	// committed them; the producer retries.
	ErrShardFailed = errors.New("metadata store shard failed to commit")
	// ErrUnknownGroup is returned by LoadGroup when a group has no saved
	// state, and by DeleteGroup when it has neither state nor offsets.
	ErrUnknownGroup = errors.New("unknown consumer group")
	// ErrGroupFenced is returned by SaveGroup when the stored generation is
	// not the one the caller expected (another coordinator saved since), and
	// by CommitOffsets when the commit's generation is not the group's.
	// Nothing is written.
	ErrGroupFenced = errors.New("consumer group generation fenced")
	// ErrGroupNotEmpty is returned by DeleteGroup when the group's saved
	// state has members.
	ErrGroupNotEmpty = errors.New("consumer group not empty")
	// ErrConflict is returned by Lifecycle.ReplaceEntries and Trim when the
	// index is no longer what the caller read: another agent compacted or
	// trimmed it first. Nothing is changed; the caller reads again.
	ErrConflict = errors.New("index changed concurrently")
)
