package agent

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sluicehq/sluice/metadata"
	"github.com/sluicehq/sluice/metadata/group"
	"github.com/sluicehq/sluice/metadata/memory"
)

// The group actors' timers are tested here, inside synctest bubbles: a
// coordinator without a Server, on a memory store, driven through the same
// calls the handlers make.

// testCoordinator is a coordinator stopped when the test ends (within its
// synctest bubble, whose goroutines must all end with it).
func testCoordinator(t *testing.T, store groupStore) *groupCoordinator {
	gc := newGroupCoordinator(testGroupConfig(), store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(gc.stop)
	return gc
}

// testGroupConfig is the flags' defaults, Kafka's.
func testGroupConfig() GroupConfig {
	var c GroupConfig
	c.RegisterFlags("", flag.NewFlagSet("groups", flag.PanicOnError))
	return c
}

func testJoin(memberID string) group.JoinRequest {
	return group.JoinRequest{
		MemberID: memberID, ClientID: "c", ProtocolType: "consumer",
		Protocols:      []metadata.GroupProtocol{{Name: "range", Metadata: []byte("m")}},
		SessionTimeout: 10 * time.Second, RebalanceTimeout: 20 * time.Second,
		RequireKnownMemberID: true,
	}
}

// joinStable joins a new member to id and syncs it; it returns the member
// id and generation.
func joinStable(t *testing.T, gc *groupCoordinator, id string) (string, int32) {
	t.Helper()
	ctx := context.Background()
	r := gc.join(ctx, id, testJoin(""))
	if !errors.Is(r.Err, group.ErrMemberIDRequired) {
		t.Fatalf("first join: %+v", r)
	}
	r = gc.join(ctx, id, testJoin(r.MemberID))
	if r.Err != nil {
		t.Fatalf("join: %v", r.Err)
	}
	if s := gc.sync(ctx, id, group.SyncRequest{MemberID: r.MemberID, Generation: r.Generation}); s.Err != nil {
		t.Fatalf("sync: %v", s.Err)
	}
	return r.MemberID, r.Generation
}

func heartbeat(gc *groupCoordinator, id, member string, gen int32) error {
	var herr error
	err := gc.call(context.Background(), id, func(a *groupActor) error {
		herr = a.g.Heartbeat(time.Now(), member, nil, gen)
		return nil
	})
	return errors.Join(err, herr)
}

func commitOne(gc *groupCoordinator, id, member string, gen int32, offset int64) error {
	var cerr error
	err := gc.call(context.Background(), id, func(a *groupActor) error {
		g, err := a.g.CommitGeneration(time.Now(), member, nil, gen)
		if err != nil {
			cerr = err
			return nil
		}
		return a.gc.store.CommitOffsets(context.Background(), id, g,
			[]metadata.CommittedOffset{{Topic: "t", Partition: 0, Offset: offset, LeaderEpoch: -1, CommitTime: time.Now()}})
	})
	return errors.Join(err, cerr)
}

func TestSessionTimeoutEnforcedByCoordinator(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := memory.New()
		gc := testCoordinator(t, store)
		member, gen := joinStable(t, gc, "g")

		// Heartbeats keep the member for as long as they come.
		for range 5 {
			time.Sleep(8 * time.Second)
			if err := heartbeat(gc, "g", member, gen); err != nil {
				t.Fatalf("heartbeat: %v", err)
			}
		}
		// Then it goes silent for its session timeout.
		time.Sleep(10 * time.Second)
		synctest.Wait()
		s, err := store.LoadGroup(context.Background(), "g")
		if err != nil || s.State != "Empty" || len(s.Members) != 0 || s.Generation != gen+1 {
			t.Fatalf("after the session: %+v %v", s, err)
		}
		if err := heartbeat(gc, "g", member, gen); !errors.Is(err, group.ErrUnknownMemberID) {
			t.Fatalf("heartbeat after removal: %v", err)
		}
		// The idle actor retires after the linger time.
		time.Sleep(groupIdleLinger + time.Second)
		synctest.Wait()
		if live := gc.live(); len(live) != 0 {
			t.Fatalf("actors still live: %v", live)
		}
	})
}

func TestRebalanceTimeoutEnforcedByCoordinator(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gc := testCoordinator(t, memory.New())
		a, gen := joinStable(t, gc, "g")
		first := gc.join(context.Background(), "g", testJoin(""))
		joined := make(chan group.JoinResult, 1)
		go func() { joined <- gc.join(context.Background(), "g", testJoin(first.MemberID)) }()
		synctest.Wait()

		// a heartbeats (and hears of the rebalance) but never joins again.
		for range 6 {
			if err := heartbeat(gc, "g", a, gen); !errors.Is(err, group.ErrRebalanceInProgress) {
				t.Fatalf("heartbeat: %v", err)
			}
			time.Sleep(3 * time.Second)
		}
		select {
		case r := <-joined:
			t.Fatalf("join answered before the rebalance timeout: %+v", r)
		default:
		}
		time.Sleep(2 * time.Second) // 20s: the rebalance timeout
		r := <-joined
		if r.Err != nil || r.Generation != gen+1 || len(r.Members) != 1 || r.Leader != first.MemberID {
			t.Fatalf("join: %+v", r)
		}
		if err := heartbeat(gc, "g", a, gen); !errors.Is(err, group.ErrUnknownMemberID) {
			t.Fatalf("a after the rebalance timeout: %v", err)
		}
	})
}

// A new coordinator loads the group and carries on; the old one, still
// holding its generation, can neither save nor commit once the new one
// saved a newer generation.
func TestNewCoordinatorCarriesOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := memory.New()
		ctx := context.Background()
		old := testCoordinator(t, store)
		member, gen := joinStable(t, old, "g")
		if err := commitOne(old, "g", member, gen, 10); err != nil {
			t.Fatal(err)
		}

		// The coordinator moves: the member heartbeats and commits there.
		next := testCoordinator(t, store)
		if err := heartbeat(next, "g", member, gen); err != nil {
			t.Fatalf("heartbeat on the new coordinator: %v", err)
		}
		if err := commitOne(next, "g", member, gen, 20); err != nil {
			t.Fatalf("commit on the new coordinator: %v", err)
		}
		// The leader joins again there: a new generation is saved.
		r := next.join(ctx, "g", testJoin(member))
		if r.Err != nil || r.Generation != gen+1 {
			t.Fatalf("rejoin: %+v", r)
		}

		// The old coordinator is fenced by the store, and forgets the group.
		if err := commitOne(old, "g", member, gen, 99); !errors.Is(err, group.ErrNotCoordinator) {
			t.Fatalf("stale coordinator commit: %v", err)
		}
		got, _ := store.FetchOffsets(ctx, "g", nil)
		if len(got) != 1 || got[0].Offset != 20 {
			t.Fatalf("offsets %+v", got)
		}
		// Loaded again, it sees the new generation.
		if err := heartbeat(old, "g", member, gen+1); err != nil {
			t.Fatalf("heartbeat after reload: %v", err)
		}

		// A save that loses the compare-and-set answers NOT_COORDINATOR.
		if err := store.SaveGroup(ctx, metadata.GroupState{Group: "g", Generation: gen + 5, State: "Empty"}, gen+1); err != nil {
			t.Fatal(err)
		}
		err := old.call(ctx, "g", func(a *groupActor) error {
			_, err := a.g.Leave(time.Now(), member, nil) // empties the group: a new generation
			return err
		})
		if !errors.Is(err, group.ErrNotCoordinator) {
			t.Fatalf("leave on a fenced coordinator: %v", err)
		}
	})
}

func TestStoreOutageAnswersCoordinatorNotAvailable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := memory.New()
		gc := testCoordinator(t, store)
		ctx := context.Background()
		first := gc.join(ctx, "g", testJoin(""))
		store.FailNextGroupWrite.Set(errors.New("redis down"))
		if r := gc.join(ctx, "g", testJoin(first.MemberID)); !errors.Is(r.Err, group.ErrCoordinatorUnavailable) {
			t.Fatalf("join while the store is down: %+v", r)
		}
		// The member id was forgotten with the group: it starts over.
		member, _ := joinStable(t, gc, "g")
		if _, err := store.LoadGroup(ctx, "g"); err != nil {
			t.Fatal(err)
		}
		if err := gc.call(ctx, "g", func(a *groupActor) error { _, err := a.g.Leave(time.Now(), member, nil); return err }); err != nil {
			t.Fatal(err)
		}
	})
}

func TestOffsetsRetentionExpiresEmptyGroups(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := memory.New()
		gc := testCoordinator(t, store)
		gc.retention = time.Hour
		ctx := context.Background()

		// A group used only for simple commits.
		if err := commitOne(gc, "simple", "", -1, 5); err != nil {
			t.Fatal(err)
		}
		// A consumer group that committed, then lost its last member.
		member, gen := joinStable(t, gc, "consumers")
		if err := commitOne(gc, "consumers", member, gen, 7); err != nil {
			t.Fatal(err)
		}
		for range 360 { // 30 minutes of heartbeats
			time.Sleep(5 * time.Second)
			if err := heartbeat(gc, "consumers", member, gen); err != nil {
				t.Fatal(err)
			}
		}
		if err := gc.call(ctx, "consumers", func(a *groupActor) error { _, err := a.g.Leave(time.Now(), member, nil); return err }); err != nil {
			t.Fatal(err)
		}

		time.Sleep(45 * time.Minute) // simple: 75 min old; consumers: empty for 45 min
		for _, id := range []string{"simple", "consumers"} {
			if _, err := gc.fetchOffsetsForTest(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		if got, _ := store.FetchOffsets(ctx, "simple", nil); len(got) != 0 {
			t.Fatalf("simple group's offsets kept: %+v", got)
		}
		if got, _ := store.FetchOffsets(ctx, "consumers", nil); len(got) != 1 {
			t.Fatalf("consumers' offsets expired %v early", 15*time.Minute)
		}

		time.Sleep(16 * time.Minute)
		if _, err := gc.fetchOffsetsForTest(ctx, "consumers"); err != nil {
			t.Fatal(err)
		}
		if _, err := store.LoadGroup(ctx, "consumers"); !errors.Is(err, metadata.ErrUnknownGroup) {
			t.Fatalf("expired group still saved: %v", err)
		}
		if sums, _ := store.ListGroups(ctx); len(sums) != 0 {
			t.Fatalf("groups left: %+v", sums)
		}
	})
}

// fetchOffsetsForTest is fetchOffsets without the coordinator check, which
// needs a Server.
func (gc *groupCoordinator) fetchOffsetsForTest(ctx context.Context, id string) ([]metadata.CommittedOffset, error) {
	var got []metadata.CommittedOffset
	err := gc.call(ctx, id, func(a *groupActor) error {
		var err error
		got, err = a.gc.store.FetchOffsets(ctx, id, nil)
		return err
	})
	return got, err
}
