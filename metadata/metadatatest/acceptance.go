package metadatatest

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/metadata"
)

// Store is what a metadata backend provides. A backend that is also a
// metadata.Watcher is tested as one.
type Store interface {
	metadata.TopicRegistry
	metadata.Log
}

// Option changes how AcceptanceTest runs.
type Option interface{ apply(*harness) }

type optionFunc func(*harness)

func (f optionFunc) apply(h *harness) { f(h) }

// WithPair gives AcceptanceTest two store instances on one fresh backend, so
// that Watch is tested against commits made by another instance, as agents
// do. Without it, one instance plays both parts.
func WithPair(newPair func(t *testing.T) (Store, Store)) Option {
	return optionFunc(func(h *harness) { h.newPair = newPair })
}

type harness struct {
	newStore func(t *testing.T) Store
	newPair  func(t *testing.T) (Store, Store)
}

// AcceptanceTest runs every case against stores from newStore, each on a
// fresh, empty backend.
func AcceptanceTest(t *testing.T, newStore func(t *testing.T) Store, opts ...Option) {
	h := harness{newStore: newStore}
	h.newPair = func(t *testing.T) (Store, Store) {
		s := newStore(t)
		return s, s
	}
	for _, o := range opts {
		o.apply(&h)
	}
	cases := []struct {
		name string
		fn   func(*testing.T, harness)
	}{
		{"TopicsEmpty", testTopicsEmpty},
		{"CreateTopic", testCreateTopic},
		{"CreateTopicZeroID", testCreateTopicZeroID},
		{"CreateTopicExists", testCreateTopicExists},
		{"UnknownTopic", testUnknownTopic},
		{"DeleteAndRecreate", testDeleteAndRecreate},
		{"AddPartitions", testAddPartitions},
		{"AlterConfigs", testAlterConfigs},
		{"DenseOffsets", testDenseOffsets},
		{"SeveralPartitions", testSeveralPartitions},
		{"UnknownPartition", testUnknownPartition},
		{"IndexCoalesces", testIndexCoalesces},
		{"IndexRange", testIndexRange},
		{"Offsets", testOffsets},
		{"OffsetForTime", testOffsetForTime},
		{"FirstSequence", testFirstSequence},
		{"SequenceGap", testSequenceGap},
		{"Duplicates", testDuplicates},
		{"DuplicateInOneCommit", testDuplicateInOneCommit},
		{"DuplicateBreaksRun", testDuplicateBreaksRun},
		{"RejectedBreaksRun", testRejectedBreaksRun},
		{"SequenceWraps", testSequenceWraps},
		{"ProducerEpochs", testProducerEpochs},
		{"SequencesPerPartition", testSequencesPerPartition},
		{"InitProducerID", testInitProducerID},
		{"Watch", testWatch},
		{"WatchStops", testWatchStops},
		{"ConcurrentCommits", testConcurrentCommits},
		{"Orphans", testOrphans},
		{"Lifecycle", testLifecycle},
		{"Groups", testGroups},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, h) })
	}
}

func newID() metadata.TopicID { return metadata.TopicID(uuid.New()) }

// createTopic registers a topic with a fresh ID.
func createTopic(t *testing.T, s Store, name string, partitions int32) metadata.Topic {
	t.Helper()
	tp := metadata.Topic{Name: name, ID: newID(), Partitions: partitions}
	if err := s.CreateTopic(t.Context(), tp); err != nil {
		t.Fatalf("CreateTopic(%s): %v", name, err)
	}
	return tp
}

func getTopic(t *testing.T, s Store, name string) metadata.Topic {
	t.Helper()
	tp, err := s.Topic(t.Context(), name)
	if err != nil {
		t.Fatalf("Topic(%s): %v", name, err)
	}
	return tp
}

// sameTopic compares topics, treating nil and empty configs alike.
func sameTopic(a, b metadata.Topic) bool {
	if a.Name != b.Name || a.ID != b.ID || a.Partitions != b.Partitions || len(a.Configs) != len(b.Configs) {
		return false
	}
	return len(a.Configs) == 0 || reflect.DeepEqual(a.Configs, b.Configs)
}

func part(tp metadata.Topic, i int32) metadata.Partition {
	return metadata.Partition{Topic: tp.ID, Index: i}
}

// builder lays batches out back to back in one object, as a flush does.
type builder struct {
	c   metadata.Commit
	pos int64
}

func newCommit(object string) *builder { return &builder{c: metadata.Commit{Object: object}} }

// add appends a batch from a producer that is not idempotent. Its length is
// derived from its record count so that byte ranges differ per batch.
func (b *builder) add(p metadata.Partition, records int32, maxTs int64) *builder {
	return b.addIdem(p, records, maxTs, metadata.NoProducer, 0, 0)
}

func (b *builder) addIdem(p metadata.Partition, records int32, maxTs, pid int64, epoch int16, seq int32) *builder {
	n := 61 + int64(records%1000)*8
	b.c.Batches = append(b.c.Batches, metadata.CommitBatch{
		Partition: p, Pos: b.pos, Len: n, Records: records, MaxTimestamp: maxTs,
		ProducerID: pid, ProducerEpoch: epoch, BaseSequence: seq,
	})
	b.pos += n
	return b
}

func (b *builder) commit(t *testing.T, s Store) []metadata.BatchResult {
	t.Helper()
	rs, err := s.Commit(t.Context(), b.c)
	if err != nil {
		t.Fatalf("Commit(%s): %v", b.c.Object, err)
	}
	if len(rs) != len(b.c.Batches) {
		t.Fatalf("Commit(%s) returned %d results for %d batches", b.c.Object, len(rs), len(b.c.Batches))
	}
	return rs
}

// entry is the index entry expected for batches [from, to] of b's commit.
func (b *builder) entry(base int64, from, to int) metadata.IndexEntry {
	bs := b.c.Batches
	e := metadata.IndexEntry{BaseOffset: base, LastOffset: base - 1, MaxTimestamp: bs[from].MaxTimestamp,
		Object: b.c.Object, Pos: bs[from].Pos, Len: bs[to].Pos + bs[to].Len - bs[from].Pos}
	for _, x := range bs[from : to+1] {
		e.LastOffset += int64(x.Records)
		e.MaxTimestamp = max(e.MaxTimestamp, x.MaxTimestamp)
	}
	return e
}

// wantResult checks one batch result: an accepted or duplicate batch at
// base, or a rejected one with err.
func wantResult(t *testing.T, rs []metadata.BatchResult, i int, base int64, dup bool, err error) {
	t.Helper()
	r := rs[i]
	switch {
	case err != nil && !errors.Is(r.Err, err):
		t.Errorf("batch %d: Err = %v, want %v", i, r.Err, err)
	case err != nil && r.Duplicate:
		t.Errorf("batch %d: rejected with %v but marked duplicate", i, r.Err)
	case err == nil && r.Err != nil:
		t.Errorf("batch %d: Err = %v, want none", i, r.Err)
	case err == nil && (r.BaseOffset != base || r.Duplicate != dup):
		t.Errorf("batch %d: BaseOffset %d Duplicate %v, want %d %v", i, r.BaseOffset, r.Duplicate, base, dup)
	}
}

func index(t *testing.T, s Store, p metadata.Partition, from int64, limit int) []metadata.IndexEntry {
	t.Helper()
	es, err := s.Index(t.Context(), p, from, limit)
	if err != nil {
		t.Fatalf("Index(%d, %d): %v", from, limit, err)
	}
	return es
}

func wantIndex(t *testing.T, s Store, p metadata.Partition, from int64, limit int, want ...metadata.IndexEntry) {
	t.Helper()
	got := index(t, s, p, from, limit)
	if len(got) != len(want) || (len(want) > 0 && !reflect.DeepEqual(got, want)) {
		t.Errorf("Index(from %d, limit %d):\n got %s\nwant %s", from, limit, fmtEntries(got), fmtEntries(want))
	}
}

func fmtEntries(es []metadata.IndexEntry) string {
	s := "["
	for _, e := range es {
		s += fmt.Sprintf(" {%d-%d ts %d %s@%d+%d}", e.BaseOffset, e.LastOffset, e.MaxTimestamp, e.Object, e.Pos, e.Len)
	}
	return s + " ]"
}

func offsets(t *testing.T, s Store, ps ...metadata.Partition) []metadata.Offsets {
	t.Helper()
	os, err := s.Offsets(t.Context(), ps)
	if err != nil {
		t.Fatalf("Offsets: %v", err)
	}
	if len(os) != len(ps) {
		t.Fatalf("Offsets returned %d bounds for %d partitions", len(os), len(ps))
	}
	return os
}

func wantHighWatermark(t *testing.T, s Store, p metadata.Partition, hw int64) {
	t.Helper()
	if o := offsets(t, s, p)[0]; o.HighWatermark != hw || o.LogStart != 0 {
		t.Errorf("Offsets(%v) = %+v, want log start 0, high watermark %d", p, o, hw)
	}
}
