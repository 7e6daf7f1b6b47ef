package metadata

import (
	"context"
	"fmt"
)

// TopicID is a Kafka topic ID: 16 random bytes given when the topic is created.
type TopicID [16]byte

// String formats the ID as a UUID.
func (id TopicID) String() string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", id[0:4], id[4:6], id[6:8], id[8:10], id[10:16])
}

// Partition names one partition of one incarnation of a topic. Partition
// state is keyed by topic ID, not name, so a topic deleted and created again
// starts from offset 0.
type Partition struct {
	Topic TopicID
	Index int32
}

// Topic is a topic's registration.
type Topic struct {
	Name       string
	ID         TopicID
	Partitions int32
	// Configs holds only the configs set explicitly on the topic; callers
	// fill in defaults.
	Configs map[string]string
}

// TopicRegistry stores topics and their configs.
//
// All methods are linearizable: once a call returns, every later call on
// any agent sees its effect.
type TopicRegistry interface {
	// CreateTopic registers t. It returns ErrTopicExists if the name is taken,
	// and then changes nothing.
	CreateTopic(ctx context.Context, t Topic) error
	// DeleteTopic removes the topic and returns ErrUnknownTopic if there is
	// none. Its partitions' offsets and index become unreachable. A store
	// that is also an OrphanLog records every object their indexes named,
	// as compaction and retention do before they let go of one, so that
	// cleanup deletes those no other partition names.
	DeleteTopic(ctx context.Context, name string) error
	// Topics returns every topic, sorted by name; an empty slice if none.
	Topics(ctx context.Context) ([]Topic, error)
	// Topic returns one topic or ErrUnknownTopic.
	Topic(ctx context.Context, name string) (Topic, error)
	// AddPartitions raises the partition count to total. It returns
	// ErrUnknownTopic, or ErrInvalidPartitions when total is not larger than
	// the current count.
	AddPartitions(ctx context.Context, name string, total int32) error
	// AlterConfigs sets each key with a non-nil value and deletes each key
	// with a nil one. With replace, every key not named is deleted first.
	// It returns ErrUnknownTopic if there is no such topic.
	AlterConfigs(ctx context.Context, name string, set map[string]*string, replace bool) error
}

// NoProducer is the producer id of a batch from a producer that is not
// idempotent. Such batches are never checked for sequence.
const NoProducer int64 = -1

// CommitBatch is one produced record batch inside an uploaded object.
type CommitBatch struct {
	Partition Partition
	// Pos and Len locate the batch's bytes in the object.
	Pos, Len int64
	// Records is the offset span of the batch: LastOffsetDelta+1.
	Records int32
	// MaxTimestamp is the batch's max timestamp in milliseconds.
	MaxTimestamp int64

	ProducerID    int64 // NoProducer when not idempotent
	ProducerEpoch int16
	BaseSequence  int32
}

// Commit makes one uploaded object visible.
type Commit struct {
	// Object is the bucket key the bytes were uploaded under.
	Object string
	// Batches are in object order, grouped by partition: the batches of one
	// partition are contiguous in the object and in this slice.
	Batches []CommitBatch
}

// BatchResult is the outcome of one CommitBatch, at the same index.
type BatchResult struct {
	// BaseOffset is the first offset of the batch. For a duplicate it is the
	// offset the batch was first given.
	BaseOffset int64
	// Duplicate is true when the batch had been committed before; its bytes
	// in this object are not indexed.
	Duplicate bool
	// LogStart is the partition's log-start offset after the commit.
	LogStart int64
	// Err is nil, ErrOutOfOrderSequence, ErrInvalidProducerEpoch,
	// ErrUnknownTopic (the partition no longer exists) or ErrShardFailed. A
	// batch with an error is not indexed and takes no offsets.
	Err error
}

// IndexEntry says where a run of consecutive offsets of one partition is
// stored. Entries are immutable once written; compaction replaces them with
// new entries covering the same offsets.
type IndexEntry struct {
	BaseOffset int64 // first offset in the run
	LastOffset int64 // last offset in the run, inclusive
	// MaxTimestamp is the largest batch max timestamp in the run.
	MaxTimestamp int64
	Object       string
	Pos, Len     int64 // byte range in Object
}

// Offsets are a partition's bounds.
type Offsets struct {
	LogStart      int64 // first offset still readable
	HighWatermark int64 // next offset to be assigned
}

// Log assigns offsets and indexes where the committed bytes are.
//
// Offsets of a partition are dense, start at 0, never repeat and never go
// back. Only Commit assigns them.
type Log interface {
	// Commit atomically assigns offsets to every accepted batch, records the
	// index entries and producer sequences, and raises high watermarks: all
	// of it happens or none of it does. Batches of a partition get offsets in
	// slice order. Commits are applied in the order their calls are made by
	// one caller. An error return means nothing was committed, except that
	// after a timeout the commit may or may not have happened.
	//
	// A sharded store commits atomically per shard. When some shards commit
	// and others fail, Commit returns no error and the failed shards'
	// batches get ErrShardFailed, with the same uncertainty after a timeout.
	Commit(ctx context.Context, c Commit) ([]BatchResult, error)
	// Index returns, in offset order, up to limit entries of p whose
	// LastOffset is >= from. Entries before the log start are not returned.
	// An empty slice means from is at or past the high watermark.
	Index(ctx context.Context, p Partition, from int64, limit int) ([]IndexEntry, error)
	// Offsets returns the bounds of each partition, at the same index. A
	// partition never written has zero bounds.
	Offsets(ctx context.Context, ps []Partition) ([]Offsets, error)
	// OffsetForTime returns the first index entry of p whose MaxTimestamp is
	// >= ts, and false if there is none.
	OffsetForTime(ctx context.Context, p Partition, ts int64) (IndexEntry, bool, error)
	// InitProducerID hands out a producer id never given before, epoch 0.
	InitProducerID(ctx context.Context) (id int64, epoch int16, err error)
}

// Appended tells of one partition's new high watermark and the index
// entries that a commit added to it.
type Appended struct {
	Partition     Partition
	HighWatermark int64
	Entries       []IndexEntry
}

// Watcher is an optional capability of a Log: it tells of commits made by
// any agent, so that agents learn new high watermarks and index entries
// without asking for them.
type Watcher interface {
	// Watch calls fn for every commit, in commit order per partition, until
	// ctx is done; it then returns nil. Notifications may be lost when the
	// connection drops: fn is then called with nil so the caller can drop
	// what it cached. fn must not block.
	Watch(ctx context.Context, fn func([]Appended)) error
}

// OrphanLog is an optional capability of a Log: a record of objects that
// were uploaded, or may have been, but whose commit failed. Cleanup deletes
// each one after a grace period unless an index entry names it (a commit
// that timed out may still have landed).
type OrphanLog interface {
	// RecordOrphan notes key. Recording a key twice keeps the first time.
	RecordOrphan(ctx context.Context, key string) error
	// Orphans returns up to limit recorded keys, oldest first; an empty
	// slice if none.
	Orphans(ctx context.Context, limit int) ([]string, error)
	// ForgetOrphan removes key from the record; a missing key is not an
	// error.
	ForgetOrphan(ctx context.Context, key string) error
}

// CommitCounter is an optional capability of a Log: the store counts
// commits, per shard, and no count ever goes back. An agent records the
// counts it has seen outside the store (in the bucket); a store that later
// shows a lower count has lost acknowledged writes, and nothing may be
// written to it. Implementations also refuse commits (ErrFenced) once the
// count they see falls below one they saw before.
type CommitCounter interface {
	// CommitCounts returns the number of commits so far per shard of the
	// store, keyed by a name that stays the shard's while it serves the
	// same partitions. A store of one shard has one count, named "".
	CommitCounts(ctx context.Context) (map[string]int64, error)
}
