package memory_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/sluicehq/sluice/metadata"
	"github.com/sluicehq/sluice/metadata/memory"
)

func open(t *testing.T, dir string) *memory.Store {
	t.Helper()
	s, err := memory.Open(dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func closeStore(t *testing.T, s *memory.Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// snapshot is everything a test can read from a store about topic "kept".
type snapshot struct {
	Topics  []metadata.Topic
	Offsets []metadata.Offsets
	Index   [][]metadata.IndexEntry
}

func snap(t *testing.T, s *memory.Store) snapshot {
	t.Helper()
	ctx := t.Context()
	var sn snapshot
	var err error
	if sn.Topics, err = s.Topics(ctx); err != nil {
		t.Fatal(err)
	}
	kept, err := s.Topic(ctx, "kept")
	if err != nil {
		t.Fatal(err)
	}
	var ps []metadata.Partition
	for i := range kept.Partitions {
		ps = append(ps, metadata.Partition{Topic: kept.ID, Index: i})
		es, err := s.Index(ctx, ps[i], 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		sn.Index = append(sn.Index, es)
	}
	if sn.Offsets, err = s.Offsets(ctx, ps); err != nil {
		t.Fatal(err)
	}
	return sn
}

// fill makes one change of every kind and returns the producer id used.
func fill(t *testing.T, s *memory.Store) (metadata.Partition, int64) {
	t.Helper()
	ctx := t.Context()
	v := "1000"
	kept := metadata.Topic{Name: "kept", ID: metadata.TopicID{1}, Partitions: 1, Configs: map[string]string{"a": "b"}}
	for _, err := range []error{
		s.CreateTopic(ctx, kept),
		s.CreateTopic(ctx, metadata.Topic{Name: "gone", ID: metadata.TopicID{2}, Partitions: 1}),
		s.AddPartitions(ctx, "kept", 2),
		s.AlterConfigs(ctx, "kept", map[string]*string{"retention.ms": &v, "a": nil}, false),
		s.DeleteTopic(ctx, "gone"),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	id, _, err := s.InitProducerID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := metadata.Partition{Topic: kept.ID, Index: 1}
	commit(t, s, p, id, 0)
	commit(t, s, p, id, 3)
	return p, id
}

func commit(t *testing.T, s *memory.Store, p metadata.Partition, id int64, seq int32) metadata.BatchResult {
	t.Helper()
	rs, err := s.Commit(t.Context(), metadata.Commit{Object: "obj", Batches: []metadata.CommitBatch{
		{Partition: p, Len: 10, Records: 3, MaxTimestamp: 5, ProducerID: id, BaseSequence: seq},
	}})
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	return rs[0]
}

func TestReopen(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	p, id := fill(t, s)
	before := snap(t, s)
	closeStore(t, s)

	s = open(t, dir)
	if after := snap(t, s); !reflect.DeepEqual(before, after) {
		t.Fatalf("reopened store differs:\nbefore %+v\n after %+v", before, after)
	}
	// Producer sequences and ids survive too.
	if r := commit(t, s, p, id, 3); !r.Duplicate || r.BaseOffset != 3 {
		t.Errorf("retried batch after reopen = %+v, want a duplicate at 3", r)
	}
	if next, _, _ := s.InitProducerID(t.Context()); next <= id {
		t.Errorf("InitProducerID after reopen = %d, want above %d", next, id)
	}
}

// A record cut short by a crash is dropped, and the log stays usable.
func TestTornTail(t *testing.T) {
	for name, tail := range map[string][]byte{
		"partial header":  {0, 0},
		"partial payload": {0, 0, 0, 50, 1, 2, 3, 4, '{'},
		"zeros":           make([]byte, 4096),
		"bad checksum":    {0, 0, 0, 2, 9, 9, 9, 9, '{', '}'},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, dir)
			p, id := fill(t, s)
			before := snap(t, s)
			closeStore(t, s)
			appendFile(t, filepath.Join(dir, "metadata.log"), tail)

			s = open(t, dir)
			if after := snap(t, s); !reflect.DeepEqual(before, after) {
				t.Fatalf("after a torn tail:\nbefore %+v\n after %+v", before, after)
			}
			commit(t, s, p, id, 6)
			closeStore(t, s)
			s = open(t, dir)
			if o, _ := s.Offsets(t.Context(), []metadata.Partition{p}); o[0].HighWatermark != 9 {
				t.Fatalf("a commit after a torn tail was lost: offsets %+v", o)
			}
		})
	}
}

func TestCorruptRecord(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	fill(t, s)
	closeStore(t, s)
	path := filepath.Join(dir, "metadata.log")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[30] ^= 0xff // inside the second record, with more after it
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := memory.Open(dir); !errors.Is(err, memory.ErrCorrupt) {
		t.Fatalf("Open of a corrupt log: err = %v, want ErrCorrupt", err)
	}
}

func TestOpenLocks(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	if other, err := memory.Open(dir); err == nil {
		_ = other.Close()
		t.Fatal("a second Open of one directory succeeded")
	}
	closeStore(t, s)
	open(t, dir)
}

func appendFile(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
