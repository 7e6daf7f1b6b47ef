package memory_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/sluicehq/sluice/metadata"
	"github.com/sluicehq/sluice/metadata/memory"
)

// groupSnapshot is everything a test can read from a store about groups.
type groupSnapshot struct {
	List    []metadata.GroupSummary
	States  map[string]metadata.GroupState
	Offsets map[string][]metadata.CommittedOffset
}

func snapGroups(t *testing.T, s *memory.Store, groups ...string) groupSnapshot {
	t.Helper()
	ctx := t.Context()
	sn := groupSnapshot{States: map[string]metadata.GroupState{}, Offsets: map[string][]metadata.CommittedOffset{}}
	var err error
	if sn.List, err = s.ListGroups(ctx); err != nil {
		t.Fatal(err)
	}
	for _, g := range groups {
		if st, err := s.LoadGroup(ctx, g); err == nil {
			sn.States[g] = st
		} else if !errors.Is(err, metadata.ErrUnknownGroup) {
			t.Fatal(err)
		}
		if sn.Offsets[g], err = s.FetchOffsets(ctx, g, nil); err != nil {
			t.Fatal(err)
		}
	}
	return sn
}

// fillGroups makes one group change of every kind.
func fillGroups(t *testing.T, s *memory.Store) {
	t.Helper()
	ctx := t.Context()
	inst, md := "static-1", "meta,data"
	st := metadata.GroupState{
		Group: "g", ProtocolType: "consumer", Protocol: "range", Generation: 3, Leader: "m1", State: "Stable",
		Members: []metadata.GroupMember{{
			MemberID: "m1", InstanceID: &inst, ClientID: "c", ClientHost: "/127.0.0.1",
			SessionTimeout: 45 * time.Second, RebalanceTimeout: time.Minute,
			Protocols:  []metadata.GroupProtocol{{Name: "range", Metadata: []byte{0, 0xff, 1}}},
			Assignment: []byte{0xde, 0xad, 0, 0xbe, 0xef},
		}},
	}
	at := time.Now()
	for _, err := range []error{
		s.SaveGroup(ctx, metadata.GroupState{Group: "g", State: "Empty"}, metadata.NoGeneration),
		s.SaveGroup(ctx, st, 0),
		s.CommitOffsets(ctx, "g", 3, []metadata.CommittedOffset{
			{Topic: "t", Partition: 0, Offset: 10, LeaderEpoch: 2, Metadata: &md, CommitTime: at},
			{Topic: "t", Partition: 1, Offset: 20, LeaderEpoch: -1},
		}),
		s.DeleteOffsets(ctx, "g", []metadata.TopicPartition{{Topic: "t", Partition: 1}}),
		s.CommitOffsets(ctx, "simple", metadata.NoGeneration, []metadata.CommittedOffset{{Topic: "u", Offset: 5}}),
		s.CommitOffsets(ctx, "gone", metadata.NoGeneration, []metadata.CommittedOffset{{Topic: "u", Offset: 5}}),
		s.DeleteGroup(ctx, "gone"),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// `sluice dev` keeps groups and offsets across restarts, fences included.
func TestGroupsReopen(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	fillGroups(t, s)
	groups := []string{"g", "simple", "gone"}
	before := snapGroups(t, s, groups...)
	closeStore(t, s)

	s = open(t, dir)
	if after := snapGroups(t, s, groups...); !reflect.DeepEqual(before, after) {
		t.Fatalf("reopened store differs:\nbefore %+v\n after %+v", before, after)
	}
	ctx := t.Context()
	if err := s.CommitOffsets(ctx, "g", 2, nil); !errors.Is(err, metadata.ErrGroupFenced) {
		t.Errorf("CommitOffsets at a stale generation after reopen: err = %v, want ErrGroupFenced", err)
	}
	if err := s.SaveGroup(ctx, metadata.GroupState{Group: "g", Generation: 4}, 2); !errors.Is(err, metadata.ErrGroupFenced) {
		t.Errorf("SaveGroup by a stale coordinator after reopen: err = %v, want ErrGroupFenced", err)
	}
}

func TestFailNextGroupWrite(t *testing.T) {
	s := memory.New()
	ctx := t.Context()
	boom := errors.New("boom")
	os := []metadata.CommittedOffset{{Topic: "t", Offset: 1}}
	s.FailNextGroupWrite.Set(boom)
	if err := s.CommitOffsets(ctx, "g", metadata.NoGeneration, os); !errors.Is(err, boom) {
		t.Fatalf("CommitOffsets with FailNextGroupWrite: err = %v", err)
	}
	if got, _ := s.FetchOffsets(ctx, "g", nil); len(got) != 0 {
		t.Fatalf("a failed commit stored %v", got)
	}
	if err := s.CommitOffsets(ctx, "g", metadata.NoGeneration, os); err != nil {
		t.Fatalf("the fault fired twice: %v", err)
	}
}
