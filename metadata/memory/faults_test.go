package memory_test

import (
	"errors"
	"testing"

	"github.com/sluicehq/sluice/metadata"
	"github.com/sluicehq/sluice/metadata/memory"
)

func TestFailNextCommit(t *testing.T) {
	s := memory.New()
	if err := s.CreateTopic(t.Context(), metadata.Topic{Name: "t", Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	tp, _ := s.Topic(t.Context(), "t")
	p := metadata.Partition{Topic: tp.ID}
	hw := func() int64 {
		o, _ := s.Offsets(t.Context(), []metadata.Partition{p})
		return o[0].HighWatermark
	}
	boom := errors.New("boom")

	s.FailNextCommit.Set(boom)
	if _, err := s.Commit(t.Context(), oneBatch(p)); !errors.Is(err, boom) {
		t.Fatalf("Commit with FailNextCommit: err = %v", err)
	}
	if hw() != 0 {
		t.Fatalf("a failed commit assigned offsets")
	}
	s.FailNextCommitAfter.Set(boom)
	if _, err := s.Commit(t.Context(), oneBatch(p)); !errors.Is(err, boom) {
		t.Fatalf("Commit with FailNextCommitAfter: err = %v", err)
	}
	if hw() != 1 {
		t.Fatalf("FailNextCommitAfter did not commit")
	}
	if rs, err := s.Commit(t.Context(), oneBatch(p)); err != nil || rs[0].BaseOffset != 1 {
		t.Fatalf("a fault fired twice: %+v, %v", rs, err)
	}
	if n := s.Commits.Load(); n != 3 {
		t.Fatalf("Commits = %d, want 3", n)
	}
}

func TestClosed(t *testing.T) {
	s := memory.New()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Topics(t.Context()); !errors.Is(err, memory.ErrClosed) {
		t.Errorf("Topics after Close: err = %v, want ErrClosed", err)
	}
	if _, err := s.Commit(t.Context(), oneBatch(metadata.Partition{})); !errors.Is(err, memory.ErrClosed) {
		t.Errorf("Commit after Close: err = %v, want ErrClosed", err)
	}
}

func TestInvalidCommit(t *testing.T) {
	s := memory.New()
	for name, c := range map[string]metadata.Commit{
		"no object":  {Batches: oneBatch(metadata.Partition{}).Batches},
		"line break": {Object: "a\nb"},
		"no records": {Object: "o", Batches: []metadata.CommitBatch{{Len: 1}}},
	} {
		if _, err := s.Commit(t.Context(), c); err == nil {
			t.Errorf("Commit with %s succeeded", name)
		}
	}
}

func oneBatch(p metadata.Partition) metadata.Commit {
	return metadata.Commit{Object: "o", Batches: []metadata.CommitBatch{
		{Partition: p, Len: 10, Records: 1, ProducerID: metadata.NoProducer},
	}}
}
