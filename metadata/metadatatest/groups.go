package metadatatest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/metadata"
)

// GroupBackend is what a backend with consumer groups provides.
type GroupBackend interface {
	metadata.GroupStore
	metadata.OffsetStore
}

// testGroups runs the consumer-group cases when the store keeps groups.
func testGroups(t *testing.T, h harness) {
	if _, ok := h.newStore(t).(GroupBackend); !ok {
		t.Skip("the store keeps no consumer groups")
	}
	newStore := func(t *testing.T) GroupBackend { return h.newStore(t).(GroupBackend) }
	cases := []struct {
		name string
		fn   func(*testing.T, GroupBackend)
	}{
		{"UnknownGroup", testUnknownGroup},
		{"RoundTrip", testGroupRoundTrip},
		{"SaveFenced", testSaveFenced},
		{"SaveInvalid", testSaveInvalid},
		{"CommitFenced", testCommitFenced},
		{"SimpleCommit", testSimpleCommit},
		{"FetchOffsets", testFetchOffsets},
		{"DeleteOffsets", testDeleteOffsets},
		{"DeleteGroup", testDeleteGroup},
		{"ListGroups", testListGroups},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, newStore(t)) })
	}
	t.Run("ConcurrentSave", func(t *testing.T) {
		a, b := h.newPair(t)
		testConcurrentSave(t, a.(GroupBackend), b.(GroupBackend))
	})
}

func testUnknownGroup(t *testing.T, s GroupBackend) {
	ctx := t.Context()
	if _, err := s.LoadGroup(ctx, "g"); !errors.Is(err, metadata.ErrUnknownGroup) {
		t.Errorf("LoadGroup of an unknown group: err = %v, want ErrUnknownGroup", err)
	}
	if os, err := s.FetchOffsets(ctx, "g", nil); err != nil || len(os) != 0 {
		t.Errorf("FetchOffsets of an unknown group = %v, %v; want empty, no error", os, err)
	}
	if os, err := s.FetchOffsets(ctx, "g", []metadata.TopicPartition{{Topic: "t"}}); err != nil || len(os) != 0 {
		t.Errorf("FetchOffsets(t/0) of an unknown group = %v, %v; want empty, no error", os, err)
	}
	if err := s.DeleteGroup(ctx, "g"); !errors.Is(err, metadata.ErrUnknownGroup) {
		t.Errorf("DeleteGroup of an unknown group: err = %v, want ErrUnknownGroup", err)
	}
	if err := s.DeleteOffsets(ctx, "g", []metadata.TopicPartition{{Topic: "t"}}); err != nil {
		t.Errorf("DeleteOffsets of an unknown group: %v", err)
	}
	if gs, err := s.ListGroups(ctx); err != nil || len(gs) != 0 {
		t.Errorf("ListGroups with no groups = %v, %v", gs, err)
	}
}

// testGroupRoundTrip saves a state with every field set, opaque bytes that
// are not UTF-8, and times finer than a millisecond.
func testGroupRoundTrip(t *testing.T, s GroupBackend) {
	want := fullState("g", 7)
	save(t, s, want, metadata.NoGeneration)
	got := load(t, s, "g")
	want.EmptySince = want.EmptySince.Truncate(time.Millisecond)
	want.Members[0].SessionTimeout = 45 * time.Second
	if d := diffGroupState(got, want); d != "" {
		t.Errorf("LoadGroup after SaveGroup: %s", d)
	}
	got.Members[0].Assignment[0] ^= 0xff // the caller's copy, not the store's
	if d := diffGroupState(load(t, s, "g"), want); d != "" {
		t.Errorf("LoadGroup after changing a loaded state: %s", d)
	}
	empty := metadata.GroupState{Group: "e", State: metadata.GroupStateEmpty}
	save(t, s, empty, metadata.NoGeneration)
	if d := diffGroupState(load(t, s, "e"), empty); d != "" {
		t.Errorf("LoadGroup of a state with zero fields: %s", d)
	}
}

func testSaveFenced(t *testing.T, s GroupBackend) {
	ctx := t.Context()
	save(t, s, groupAt("g", 0, "a"), metadata.NoGeneration)
	if err := s.SaveGroup(ctx, groupAt("g", 0, "b"), metadata.NoGeneration); !errors.Is(err, metadata.ErrGroupFenced) {
		t.Errorf("SaveGroup expecting no state over a saved one: err = %v, want ErrGroupFenced", err)
	}
	save(t, s, groupAt("g", 1, "new"), 0) // the new coordinator
	// The old coordinator, still at generation 0, rebalances too.
	if err := s.SaveGroup(ctx, groupAt("g", 1, "stale"), 0); !errors.Is(err, metadata.ErrGroupFenced) {
		t.Errorf("SaveGroup by a stale coordinator: err = %v, want ErrGroupFenced", err)
	}
	if err := s.SaveGroup(ctx, groupAt("g", 2, "stale"), 0); !errors.Is(err, metadata.ErrGroupFenced) {
		t.Errorf("SaveGroup by a stale coordinator at a later generation: err = %v, want ErrGroupFenced", err)
	}
	if got := load(t, s, "g"); got.Leader != "new" || got.Generation != 1 {
		t.Errorf("after fenced saves: generation %d leader %q, want 1 new", got.Generation, got.Leader)
	}
	st := groupAt("g", 1, "new")
	st.State = "Stable"
	save(t, s, st, 1) // a save within a generation
	if got := load(t, s, "g"); got.State != "Stable" {
		t.Errorf("after a save within generation 1: state %q, want Stable", got.State)
	}
}

// testSaveInvalid checks that a generation never goes back: such a save
// fails and changes nothing.
func testSaveInvalid(t *testing.T, s GroupBackend) {
	ctx := t.Context()
	save(t, s, groupAt("g", 3, "a"), metadata.NoGeneration)
	for _, c := range []struct{ gen, expect int32 }{{2, 3}, {-1, 3}, {-1, -1}} {
		if err := s.SaveGroup(ctx, groupAt("g", c.gen, "b"), c.expect); err == nil {
			t.Errorf("SaveGroup at generation %d expecting %d succeeded", c.gen, c.expect)
		}
	}
	if got := load(t, s, "g"); got.Generation != 3 || got.Leader != "a" {
		t.Errorf("after invalid saves: generation %d leader %q, want 3 a", got.Generation, got.Leader)
	}
}

func testCommitFenced(t *testing.T, s GroupBackend) {
	ctx := t.Context()
	if err := s.CommitOffsets(ctx, "g", 0, offsetsAt(1, "t", 0)); !errors.Is(err, metadata.ErrGroupFenced) {
		t.Errorf("CommitOffsets at generation 0 to a group with no state: err = %v, want ErrGroupFenced", err)
	}
	save(t, s, groupAt("g", 1, "a"), metadata.NoGeneration)
	commit(t, s, "g", 1, offsetsAt(10, "t", 0, 1))
	save(t, s, groupAt("g", 2, "a"), 1)
	// A member of generation 1 commits after the rebalance: refused, and
	// none of its partitions are written.
	err := s.CommitOffsets(ctx, "g", 1, offsetsAt(99, "t", 0, 1, 2))
	if !errors.Is(err, metadata.ErrGroupFenced) {
		t.Errorf("CommitOffsets at a stale generation: err = %v, want ErrGroupFenced", err)
	}
	if err := s.CommitOffsets(ctx, "g", 3, offsetsAt(99, "t", 0)); !errors.Is(err, metadata.ErrGroupFenced) {
		t.Errorf("CommitOffsets at a future generation: err = %v, want ErrGroupFenced", err)
	}
	wantOffsets(t, s, "g", nil, offsetsAt(10, "t", 0, 1))
	commit(t, s, "g", 2, offsetsAt(20, "t", 1, 2))
	wantOffsets(t, s, "g", nil, append(offsetsAt(10, "t", 0), offsetsAt(20, "t", 1, 2)...))
	if err := s.CommitOffsets(ctx, "g", 2, nil); err != nil {
		t.Errorf("CommitOffsets of nothing at the current generation: %v", err)
	}
}

func testSimpleCommit(t *testing.T, s GroupBackend) {
	ctx := t.Context()
	commit(t, s, "g", metadata.NoGeneration, offsetsAt(5, "t", 0))
	if _, err := s.LoadGroup(ctx, "g"); !errors.Is(err, metadata.ErrUnknownGroup) {
		t.Errorf("LoadGroup of a group with offsets only: err = %v, want ErrUnknownGroup", err)
	}
	wantGroups(t, s, metadata.GroupSummary{Group: "g", State: metadata.GroupStateEmpty})
	// An empty group: members left, generation kept.
	save(t, s, metadata.GroupState{Group: "g", ProtocolType: "consumer", Generation: 4, State: "Empty"},
		metadata.NoGeneration)
	commit(t, s, "g", -2, offsetsAt(6, "t", 0)) // any negative generation is simple
	save(t, s, groupAt("g", 5, "a"), 4)
	err := s.CommitOffsets(ctx, "g", metadata.NoGeneration, offsetsAt(7, "t", 0, 1))
	if !errors.Is(err, metadata.ErrGroupFenced) {
		t.Errorf("simple CommitOffsets to a group with members: err = %v, want ErrGroupFenced", err)
	}
	wantOffsets(t, s, "g", nil, offsetsAt(6, "t", 0))
}

func testFetchOffsets(t *testing.T, s GroupBackend) {
	ctx := t.Context()
	empty, text := "", "a,b:c\n\x00é"
	at := time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)
	os := []metadata.CommittedOffset{
		{Topic: "b", Partition: 1, Offset: 1 << 40, LeaderEpoch: -1, Metadata: nil, CommitTime: at},
		{Topic: "a:b,c", Partition: 0, Offset: 0, LeaderEpoch: 7, Metadata: &empty},
		{Topic: "b", Partition: 0, Offset: 3, LeaderEpoch: 2147483647, Metadata: &text, CommitTime: at},
	}
	commit(t, s, "g", metadata.NoGeneration, os)
	os[0].CommitTime = at.Truncate(time.Millisecond)
	os[2].CommitTime = at.Truncate(time.Millisecond)
	wantOffsets(t, s, "g", nil, []metadata.CommittedOffset{os[1], os[2], os[0]})
	wantOffsets(t, s, "g", []metadata.TopicPartition{tp("b", 1), tp("b", 9), tp("c", 0), tp("b", 1)},
		[]metadata.CommittedOffset{os[0]})
	wantOffsets(t, s, "g", []metadata.TopicPartition{}, nil)
	os[0].Offset, os[0].Metadata = 2, &text // a later commit replaces the partition's
	commit(t, s, "g", metadata.NoGeneration, os[:1])
	wantOffsets(t, s, "g", []metadata.TopicPartition{tp("b", 1)}, os[:1])
	if got, err := s.FetchOffsets(ctx, "other", nil); err != nil || len(got) != 0 {
		t.Errorf("FetchOffsets of another group = %v, %v", got, err)
	}
}

func testDeleteOffsets(t *testing.T, s GroupBackend) {
	ctx := t.Context()
	commit(t, s, "g", metadata.NoGeneration, offsetsAt(1, "t", 0, 1, 2))
	for _, ps := range [][]metadata.TopicPartition{nil, {}} {
		if err := s.DeleteOffsets(ctx, "g", ps); err != nil {
			t.Fatalf("DeleteOffsets(%v): %v", ps, err)
		}
	}
	wantOffsets(t, s, "g", nil, offsetsAt(1, "t", 0, 1, 2))
	if err := s.DeleteOffsets(ctx, "g", []metadata.TopicPartition{tp("t", 1), tp("t", 7), tp("u", 0)}); err != nil {
		t.Fatalf("DeleteOffsets: %v", err)
	}
	wantOffsets(t, s, "g", nil, offsetsAt(1, "t", 0, 2))
	if err := s.DeleteOffsets(ctx, "g", []metadata.TopicPartition{tp("t", 0), tp("t", 2)}); err != nil {
		t.Fatalf("DeleteOffsets: %v", err)
	}
	wantGroups(t, s) // a group with no offsets and no state is gone
}

func testDeleteGroup(t *testing.T, s GroupBackend) {
	ctx := t.Context()
	save(t, s, groupAt("g", 1, "a"), metadata.NoGeneration)
	commit(t, s, "g", 1, offsetsAt(10, "t", 0))
	if err := s.DeleteGroup(ctx, "g"); !errors.Is(err, metadata.ErrGroupNotEmpty) {
		t.Errorf("DeleteGroup of a group with members: err = %v, want ErrGroupNotEmpty", err)
	}
	wantOffsets(t, s, "g", nil, offsetsAt(10, "t", 0))
	wantGroups(t, s, metadata.GroupSummary{Group: "g", ProtocolType: "consumer", State: "Stable"})
	save(t, s, metadata.GroupState{Group: "g", ProtocolType: "consumer", Generation: 2, State: "Empty"}, 1)
	if err := s.DeleteGroup(ctx, "g"); err != nil {
		t.Fatalf("DeleteGroup of an empty group: %v", err)
	}
	if _, err := s.LoadGroup(ctx, "g"); !errors.Is(err, metadata.ErrUnknownGroup) {
		t.Errorf("LoadGroup after DeleteGroup: err = %v, want ErrUnknownGroup", err)
	}
	wantOffsets(t, s, "g", nil, nil)
	wantGroups(t, s)
	if err := s.DeleteGroup(ctx, "g"); !errors.Is(err, metadata.ErrUnknownGroup) {
		t.Errorf("DeleteGroup twice: err = %v, want ErrUnknownGroup", err)
	}
	// The generation is gone with the state: a new coordinator starts over,
	// and a member of the deleted group's generation cannot commit.
	if err := s.CommitOffsets(ctx, "g", 2, offsetsAt(1, "t", 0)); !errors.Is(err, metadata.ErrGroupFenced) {
		t.Errorf("CommitOffsets at the deleted group's generation: err = %v, want ErrGroupFenced", err)
	}
	save(t, s, groupAt("g", 1, "b"), metadata.NoGeneration)

	commit(t, s, "simple", metadata.NoGeneration, offsetsAt(3, "t", 0))
	if err := s.DeleteGroup(ctx, "simple"); err != nil {
		t.Fatalf("DeleteGroup of a group with offsets only: %v", err)
	}
	wantOffsets(t, s, "simple", nil, nil)
	wantGroups(t, s, metadata.GroupSummary{Group: "g", ProtocolType: "consumer", State: "Stable"})
}

func testListGroups(t *testing.T, s GroupBackend) {
	save(t, s, groupAt("b", 1, "m"), metadata.NoGeneration)
	commit(t, s, "c", metadata.NoGeneration, offsetsAt(1, "t", 0))
	save(t, s, metadata.GroupState{Group: "a", ProtocolType: "connect", State: "PreparingRebalance"},
		metadata.NoGeneration)
	wantGroups(t, s,
		metadata.GroupSummary{Group: "a", ProtocolType: "connect", State: "PreparingRebalance"},
		metadata.GroupSummary{Group: "b", ProtocolType: "consumer", State: "Stable"},
		metadata.GroupSummary{Group: "c", State: metadata.GroupStateEmpty})
}

// testConcurrentSave has two coordinators, on two store instances, load
// the same generation and race to save the next: exactly one must win,
// every round, and the stored state must be the winner's.
func testConcurrentSave(t *testing.T, a, b GroupBackend) {
	ctx := t.Context()
	save(t, a, groupAt("g", 0, "none"), metadata.NoGeneration)
	for round := range 50 {
		gen := load(t, b, "g").Generation
		var (
			wg   sync.WaitGroup
			errs [2]error
		)
		for i, s := range []GroupBackend{a, b} {
			wg.Go(func() { errs[i] = s.SaveGroup(ctx, groupAt("g", gen+1, fmt.Sprint(i)), gen) })
		}
		wg.Wait()
		won := -1
		for i, err := range errs {
			switch {
			case err == nil && won >= 0:
				t.Fatalf("round %d: both saves of generation %d won", round, gen+1)
			case err == nil:
				won = i
			case !errors.Is(err, metadata.ErrGroupFenced):
				t.Fatalf("round %d: SaveGroup: %v", round, err)
			}
		}
		if won < 0 {
			t.Fatalf("round %d: neither save of generation %d won", round, gen+1)
		}
		for _, s := range []GroupBackend{a, b} {
			if got := load(t, s, "g"); got.Generation != gen+1 || got.Leader != fmt.Sprint(won) {
				t.Fatalf("round %d: stored generation %d leader %q, want %d %d", round, got.Generation, got.Leader, gen+1, won)
			}
		}
	}
}

// fullState is a state with every field set and opaque bytes that are not
// text.
func fullState(group string, gen int32) metadata.GroupState {
	inst := "instance-1"
	return metadata.GroupState{
		Group: group, ProtocolType: "consumer", Protocol: "cooperative-sticky", Generation: gen,
		Leader: "m1", State: "Stable",
		EmptySince: time.Date(2025, 1, 2, 3, 4, 5, 678901234, time.UTC),
		Members: []metadata.GroupMember{{
			MemberID: "m1", InstanceID: &inst, ClientID: "c1", ClientHost: "/10.0.0.1",
			SessionTimeout: 45*time.Second + 999*time.Microsecond, RebalanceTimeout: time.Minute,
			Protocols: []metadata.GroupProtocol{
				{Name: "cooperative-sticky", Metadata: []byte{0, 1, 0xff, 0xfe, '"', '\\', 0}},
				{Name: "range", Metadata: []byte{}},
			},
			Assignment: []byte{0xc3, 0x28, 0, 0, 0, 0xa0, 0xa1},
		}, {
			MemberID: "m2", ClientID: "c2", ClientHost: "/10.0.0.2",
			SessionTimeout: 10 * time.Second, RebalanceTimeout: 5 * time.Second,
			Protocols: []metadata.GroupProtocol{{Name: "cooperative-sticky", Metadata: bytes.Repeat([]byte{0x80}, 4096)}},
		}},
	}
}

// groupAt is a stable group of one member led by leader.
func groupAt(group string, gen int32, leader string) metadata.GroupState {
	return metadata.GroupState{Group: group, ProtocolType: "consumer", Protocol: "range", Generation: gen,
		Leader: leader, State: "Stable", Members: []metadata.GroupMember{{MemberID: leader,
			Protocols: []metadata.GroupProtocol{{Name: "range", Metadata: []byte{1}}}}}}
}

// offsetsAt commits offset off to each partition of topic.
func offsetsAt(off int64, topic string, partitions ...int32) []metadata.CommittedOffset {
	os := make([]metadata.CommittedOffset, len(partitions))
	for i, p := range partitions {
		os[i] = metadata.CommittedOffset{Topic: topic, Partition: p, Offset: off, LeaderEpoch: -1}
	}
	return os
}

func save(t *testing.T, s GroupBackend, st metadata.GroupState, expect int32) {
	t.Helper()
	if err := s.SaveGroup(t.Context(), st, expect); err != nil {
		t.Fatalf("SaveGroup(%s at %d, expecting %d): %v", st.Group, st.Generation, expect, err)
	}
}

func load(t *testing.T, s GroupBackend, group string) metadata.GroupState {
	t.Helper()
	st, err := s.LoadGroup(t.Context(), group)
	if err != nil {
		t.Fatalf("LoadGroup(%s): %v", group, err)
	}
	return st
}

func commit(t *testing.T, s GroupBackend, group string, gen int32, os []metadata.CommittedOffset) {
	t.Helper()
	if err := s.CommitOffsets(t.Context(), group, gen, os); err != nil {
		t.Fatalf("CommitOffsets(%s at %d): %v", group, gen, err)
	}
}

func wantOffsets(t *testing.T, s GroupBackend, group string, ps []metadata.TopicPartition, want []metadata.CommittedOffset) {
	t.Helper()
	got, err := s.FetchOffsets(t.Context(), group, ps)
	if err != nil {
		t.Fatalf("FetchOffsets(%s, %v): %v", group, ps, err)
	}
	if got == nil {
		t.Errorf("FetchOffsets(%s, %v) = nil, want an empty slice", group, ps)
	}
	if len(got) != len(want) {
		t.Fatalf("FetchOffsets(%s, %v):\n got %s\nwant %s", group, ps, fmtOffsets(got), fmtOffsets(want))
	}
	for i := range got {
		if !sameOffset(got[i], want[i]) {
			t.Fatalf("FetchOffsets(%s, %v):\n got %s\nwant %s", group, ps, fmtOffsets(got), fmtOffsets(want))
		}
	}
}

func wantGroups(t *testing.T, s GroupBackend, want ...metadata.GroupSummary) {
	t.Helper()
	got, err := s.ListGroups(t.Context())
	if err != nil {
		t.Fatalf("ListGroups: %v", err)
	}
	if got == nil || len(got) != len(want) || (len(want) > 0 && fmt.Sprint(got) != fmt.Sprint(want)) {
		t.Errorf("ListGroups:\n got %+v\nwant %+v", got, want)
	}
}

func sameOffset(a, b metadata.CommittedOffset) bool {
	return a.Topic == b.Topic && a.Partition == b.Partition && a.Offset == b.Offset &&
		a.LeaderEpoch == b.LeaderEpoch && samePtr(a.Metadata, b.Metadata) && a.CommitTime.Equal(b.CommitTime)
}

func fmtOffsets(os []metadata.CommittedOffset) string {
	s := "["
	for _, o := range os {
		md := "nil"
		if o.Metadata != nil {
			md = fmt.Sprintf("%q", *o.Metadata)
		}
		s += fmt.Sprintf(" {%s/%d @%d epoch %d md %s at %s}", o.Topic, o.Partition, o.Offset, o.LeaderEpoch,
			md, o.CommitTime.Format(time.RFC3339Nano))
	}
	return s + " ]"
}

func samePtr[T comparable](a, b *T) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

// diffGroupState describes how got differs from want, or returns "".
// Opaque bytes must come back exactly; nil and empty count as equal.
func diffGroupState(got, want metadata.GroupState) string {
	switch {
	case got.Group != want.Group || got.ProtocolType != want.ProtocolType || got.Protocol != want.Protocol ||
		got.Generation != want.Generation || got.Leader != want.Leader || got.State != want.State:
		return fmt.Sprintf("got %+v, want %+v", got, want)
	case !got.EmptySince.Equal(want.EmptySince):
		return fmt.Sprintf("EmptySince %v, want %v", got.EmptySince, want.EmptySince)
	case len(got.Members) != len(want.Members):
		return fmt.Sprintf("%d members, want %d", len(got.Members), len(want.Members))
	}
	for i, g := range got.Members {
		w := want.Members[i]
		switch {
		case g.MemberID != w.MemberID || !samePtr(g.InstanceID, w.InstanceID) || g.ClientID != w.ClientID ||
			g.ClientHost != w.ClientHost || g.SessionTimeout != w.SessionTimeout ||
			g.RebalanceTimeout != w.RebalanceTimeout:
			return fmt.Sprintf("member %d: got %+v, want %+v", i, g, w)
		case !bytes.Equal(g.Assignment, w.Assignment):
			return fmt.Sprintf("member %d: assignment %x, want %x", i, g.Assignment, w.Assignment)
		case len(g.Protocols) != len(w.Protocols):
			return fmt.Sprintf("member %d: %d protocols, want %d", i, len(g.Protocols), len(w.Protocols))
		}
		for j, p := range g.Protocols {
			if p.Name != w.Protocols[j].Name || !bytes.Equal(p.Metadata, w.Protocols[j].Metadata) {
				return fmt.Sprintf("member %d protocol %d: %s %x, want %s %x",
					i, j, p.Name, p.Metadata, w.Protocols[j].Name, w.Protocols[j].Metadata)
			}
		}
	}
	return ""
}

func tp(topic string, partition int32) metadata.TopicPartition {
	return metadata.TopicPartition{Topic: topic, Partition: partition}
}
