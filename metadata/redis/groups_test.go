package redis

import (
	"errors"
	"fmt"
	"testing"

	"github.com/sluicehq/sluice/integration/testenv"
	"github.com/sluicehq/sluice/metadata"
)

func stableGroup(gen int32) metadata.GroupState {
	return metadata.GroupState{Group: "g", ProtocolType: "consumer", Generation: gen, State: "Stable",
		Members: []metadata.GroupMember{{MemberID: "m", Assignment: []byte{1, 2, 3}}}}
}

// Saving a known group's state and committing its offsets are one round
// trip each; only the write that creates a group takes a second, to list it.
func TestGroupWritesOneRoundTrip(t *testing.T) {
	s := openStore(t, testenv.StartRedis(t).URL())
	ctx := t.Context()
	if err := s.SaveGroup(ctx, stableGroup(1), metadata.NoGeneration); err != nil {
		t.Fatal(err)
	}
	var rt roundTrips
	s.client.AddHook(&rt)
	// In order: the commit is at the generation the save moves to.
	for _, w := range []struct {
		name  string
		write func() error
	}{
		{"SaveGroup", func() error { return s.SaveGroup(ctx, stableGroup(2), 1) }},
		{"CommitOffsets", func() error { return s.CommitOffsets(ctx, "g", 2, []metadata.CommittedOffset{{Topic: "t", Offset: 1}}) }},
		{"FetchOffsets", func() error { _, err := s.FetchOffsets(ctx, "g", nil); return err }},
	} {
		name, write := w.name, w.write
		rt.n.Store(0)
		if err := write(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if n := rt.n.Load(); n != 1 {
			t.Errorf("%s took %d round trips, want 1", name, n)
		}
	}
}

// A server that lost its script cache gets the group scripts with EVAL.
func TestGroupsAfterScriptFlush(t *testing.T) {
	r := testenv.StartRedis(t)
	s := openStore(t, r.URL())
	ctx := t.Context()
	if err := rawClient(t, r).ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveGroup(ctx, stableGroup(1), metadata.NoGeneration); err != nil {
		t.Fatalf("SaveGroup after SCRIPT FLUSH: %v", err)
	}
	if err := rawClient(t, r).ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.CommitOffsets(ctx, "g", 0, nil); !errors.Is(err, metadata.ErrGroupFenced) {
		t.Fatalf("CommitOffsets after SCRIPT FLUSH: err = %v, want ErrGroupFenced", err)
	}
}

// A commit of more partitions than one HSET call in the script takes.
func TestCommitManyOffsets(t *testing.T) {
	s := openStore(t, testenv.StartRedis(t).URL())
	ctx := t.Context()
	var os []metadata.CommittedOffset
	for i := range int32(5001) {
		os = append(os, metadata.CommittedOffset{Topic: fmt.Sprint("t", i%7), Partition: i, Offset: int64(i)})
	}
	if err := s.CommitOffsets(ctx, "g", metadata.NoGeneration, os); err != nil {
		t.Fatal(err)
	}
	got, err := s.FetchOffsets(ctx, "g", nil)
	if err != nil || len(got) != len(os) {
		t.Fatalf("FetchOffsets = %d offsets, %v; want %d", len(got), err, len(os))
	}
}

// The names set may hold ids of deleted groups; ListGroups skips them, and
// a refused delete leaves the group listed.
func TestListGroupsNames(t *testing.T) {
	r := testenv.StartRedis(t)
	s := openStore(t, r.URL())
	ctx := t.Context()
	if err := rawClient(t, r).SAdd(ctx, groupNamesKey(), "stale").Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveGroup(ctx, stableGroup(1), metadata.NoGeneration); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteGroup(ctx, "g"); !errors.Is(err, metadata.ErrGroupNotEmpty) {
		t.Fatalf("DeleteGroup: err = %v, want ErrGroupNotEmpty", err)
	}
	gs, err := s.ListGroups(ctx)
	if err != nil || len(gs) != 1 || gs[0].Group != "g" {
		t.Fatalf("ListGroups = %+v, %v; want only g", gs, err)
	}
}
