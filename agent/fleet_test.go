package agent

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/metadata"
	"github.com/sluicehq/sluice/metadata/memory"
	"github.com/sluicehq/sluice/tiering/bucket"
)

// randomPartitions are n partitions of random topics, a few per topic.
func randomPartitions(n int) []metadata.Partition {
	r := rand.New(rand.NewPCG(1, 2))
	ps := make([]metadata.Partition, n)
	var id metadata.TopicID
	for i := range ps {
		if i%8 == 0 {
			for j := range id {
				id[j] = byte(r.Uint32())
			}
		}
		ps[i] = metadata.Partition{Topic: id, Index: int32(i % 8)}
	}
	return ps
}

func leaders(ps []metadata.Partition, bs []broker) []int32 {
	out := make([]int32, len(ps))
	for i, p := range ps {
		out[i] = rendezvous(partitionKey(p), bs).nodeID
	}
	return out
}

func brokerIDs(ids ...int32) []broker {
	bs := make([]broker, len(ids))
	for i, id := range ids {
		bs[i] = broker{nodeID: id, host: "127.0.0.1", port: 9000 + id}
	}
	return bs
}

// Adding a fourth agent moves about a quarter of the partitions, all to
// it; removing one moves only the partitions it led. Leadership is spread
// evenly, and does not depend on the order agents are listed in.
func TestRendezvousStable(t *testing.T) {
	const n = 20000
	ps := randomPartitions(n)
	three := leaders(ps, brokerIDs(1, 2, 3))
	four := leaders(ps, brokerIDs(1, 2, 3, 4))

	moved := 0
	for i := range ps {
		if three[i] != four[i] {
			moved++
			if four[i] != 4 {
				t.Fatalf("partition %d moved from %d to %d, not to the new agent", i, three[i], four[i])
			}
		}
	}
	if f := float64(moved) / n; f < 0.22 || f > 0.28 {
		t.Errorf("adding a 4th agent moved %.3f of the partitions, want about 1/4", f)
	}
	t.Logf("adding a 4th agent moved %d of %d partitions (%.1f%%)", moved, n, 100*float64(moved)/n)

	count := map[int32]int{}
	for _, l := range four {
		count[l]++
	}
	for id, c := range count {
		if f := float64(c) / n; f < 0.23 || f > 0.27 {
			t.Errorf("agent %d leads %.3f of the partitions, want about 1/4", id, f)
		}
	}

	without2 := leaders(ps, brokerIDs(1, 3, 4))
	for i := range ps {
		if four[i] != 2 && without2[i] != four[i] {
			t.Fatalf("removing agent 2 moved partition %d from %d to %d", i, four[i], without2[i])
		}
		if without2[i] == 2 {
			t.Fatalf("partition %d still led by the removed agent", i)
		}
	}

	shuffled := brokerIDs(4, 2, 1, 3)
	if !slices.Equal(leaders(ps, shuffled), four) {
		t.Error("leaders depend on the order agents are listed in")
	}
}

func TestClientZone(t *testing.T) {
	for id, want := range map[string]string{
		"sluice_az=a":                    "a",
		"ws_az=us-east-1a":               "us-east-1a",
		"warpstream_az=use1-az1":         "use1-az1",
		"diskless_az=eu-west-1b":         "eu-west-1b",
		"automq_az=z1":                   "z1",
		"my-app,ws_az=us-east-1a":        "us-east-1a",
		"ws_az=us-east-1a,ws_si=xyz":     "us-east-1a",
		"app;sluice_az=b":                "b",
		"app sluice_az=b":                "b",
		"sluice_az=b&x=y":                "b",
		"":                               "",
		"my-app":                         "",
		"az=a":                           "",
		"sluice_az=":                     "",
		"xsluice_az=a":                   "",
		"rdkafka":                        "",
		"sluice_az=first,ws_az=second":   "first",
		"consumer-1,warpstream_az=zone9": "zone9",
	} {
		if got := clientZone(id); got != want {
			t.Errorf("clientZone(%q) = %q, want %q", id, got, want)
		}
	}
}

// fleetConfig is a config with heartbeats fast enough for tests.
func fleetConfig(zone string) Config {
	var cfg Config
	cfg.RegisterFlags("", flag.NewFlagSet("fleet", flag.PanicOnError))
	cfg.Listen = "127.0.0.1:0"
	cfg.Zone = zone
	cfg.HeartbeatInterval = 20 * time.Millisecond
	cfg.HeartbeatTTL = 200 * time.Millisecond
	cfg.DrainTimeout = 5 * time.Second
	return cfg
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// runServer starts an agent on store and returns a function that drains
// it and reports how long Run took to return.
func runServer(t *testing.T, store Store, zone string) (*Server, func() time.Duration) {
	t.Helper()
	srv, err := New(fleetConfig(zone), Deps{Store: store, Bucket: bucket.NewInMem(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Run(ctx) }()
	stop := func() time.Duration {
		start := time.Now()
		cancel()
		<-done
		return time.Since(start)
	}
	t.Cleanup(func() { stop() })
	return srv, stop
}

// waitBrokers waits until srv lists n agents.
func waitBrokers(t *testing.T, srv *Server, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); len(srv.brokers()) != n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("agent %d lists %d agents, want %d", srv.self.nodeID, len(srv.brokers()), n)
		}
	}
}

// metadataAs asks srv for every topic's metadata as a client with id.
func metadataAs(t *testing.T, srv *Server, clientID string) *kmsg.MetadataResponse {
	t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	req.SetVersion(12)
	s := &slot{req: &request{kreq: req, clientID: clientID}, done: make(chan outcome, 1)}
	srv.dispatch(context.Background(), s)
	o := <-s.done
	if o.err != nil {
		t.Fatalf("metadata: %v", o.err)
	}
	return o.resp.(*kmsg.MetadataResponse)
}

// Agents on one store list each other with distinct node ids; a client
// naming a zone, in any of the accepted forms, is told only of that zone's
// agents and finds every leader among them.
func TestMetadataZones(t *testing.T) {
	store := memory.New()
	a1, _ := runServer(t, store, "a")
	a2, _ := runServer(t, store, "a")
	b1, _ := runServer(t, store, "b")
	for _, srv := range []*Server{a1, a2, b1} {
		waitBrokers(t, srv, 3)
	}
	mustCreateTopic(t, a1, "zoned", 64, nil)
	inA := map[int32]bool{a1.self.nodeID: true, a2.self.nodeID: true}

	for _, srv := range []*Server{a1, a2, b1} {
		for _, c := range []struct {
			clientID string
			want     int
		}{
			{"", 3}, {"app", 3}, {"sluice_az=c", 3},
			{"sluice_az=a", 2}, {"ws_az=a", 2}, {"app,warpstream_az=a", 2}, {"diskless_az=a", 2}, {"automq_az=a", 2},
			{"sluice_az=b", 1},
		} {
			resp := metadataAs(t, srv, c.clientID)
			listed := map[int32]bool{}
			for _, b := range resp.Brokers {
				if listed[b.NodeID] {
					t.Fatalf("node id %d listed twice", b.NodeID)
				}
				listed[b.NodeID] = true
				if c.want == 2 && !inA[b.NodeID] {
					t.Errorf("client %q asking agent %d was told of agent %d outside zone a", c.clientID, srv.self.nodeID, b.NodeID)
				}
			}
			if len(resp.Brokers) != c.want {
				t.Errorf("client %q asking agent %d: %d brokers, want %d", c.clientID, srv.self.nodeID, len(resp.Brokers), c.want)
			}
			if !listed[resp.ControllerID] {
				t.Errorf("client %q: controller %d is not listed", c.clientID, resp.ControllerID)
			}
			for _, tp := range resp.Topics {
				for _, p := range tp.Partitions {
					if !listed[p.Leader] {
						t.Fatalf("client %q: partition %d led by unlisted agent %d", c.clientID, p.Partition, p.Leader)
					}
				}
			}
		}
	}

	// Every agent names the same leaders, spread over the zone's agents.
	perLeader := map[int32]int{}
	want := metadataAs(t, a1, "sluice_az=a")
	for _, srv := range []*Server{a2, b1} {
		got := metadataAs(t, srv, "sluice_az=a")
		for i, p := range got.Topics[0].Partitions {
			if w := want.Topics[0].Partitions[i]; p.Leader != w.Leader {
				t.Fatalf("partition %d: agent %d names leader %d, agent %d names %d", i, srv.self.nodeID, p.Leader, a1.self.nodeID, w.Leader)
			}
			perLeader[p.Leader]++
		}
	}
	if len(perLeader) != 2 {
		t.Errorf("zone a's 64 partitions are led by %v, want both zone-a agents", perLeader)
	}
}

// Draining leaves the registry before Run returns, and the others stop
// listing the agent at their next heartbeat; Run returns within the drain
// timeout.
func TestDrainLeavesFleet(t *testing.T) {
	store := memory.New()
	a, _ := runServer(t, store, "")
	b, stopB := runServer(t, store, "")
	waitBrokers(t, a, 2)
	if took := stopB(); took > fleetConfig("").DrainTimeout {
		t.Errorf("Run returned %s after cancel; the drain timeout is %s", took, fleetConfig("").DrainTimeout)
	}
	live, err := store.LiveAgents(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(live) != 1 || live[0].NodeID != a.self.nodeID {
		t.Fatalf("live agents after agent %d drained: %+v", b.self.nodeID, live)
	}
	waitBrokers(t, a, 1)
}

// flakyRegistry is a memory store whose registry reads can be made to fail.
type flakyRegistry struct {
	*memory.Store
	fail atomic.Bool
}

func (f *flakyRegistry) LiveAgents(ctx context.Context) ([]metadata.Agent, error) {
	if f.fail.Load() {
		return nil, errors.New("registry unreachable")
	}
	return f.Store.LiveAgents(ctx)
}

// The heartbeat loop, on virtual time: agents see each other join within
// one interval, a drained agent leaves at once, a crashed one (no more
// heartbeats) drops out once its ttl has passed, and an agent that cannot
// read the registry for a ttl lists only itself.
func TestFleetHeartbeats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &flakyRegistry{Store: memory.New()}
		cfg := fleetConfig("")
		join := func(port int32) *fleet {
			f, err := joinFleet(cfg, store, broker{host: "10.0.0.1", port: port}, quiet)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
		ids := func(f *fleet) string {
			var s []int32
			for _, b := range f.brokers() {
				s = append(s, b.nodeID)
			}
			return fmt.Sprint(s)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		a := join(1)
		go a.run(ctx)
		bctx, stopB := context.WithCancel(ctx)
		b := join(2)
		go b.run(bctx)
		crashed := join(3) // registered, never heartbeats

		if got := ids(a); got != "[1]" {
			t.Fatalf("a lists %s before its first heartbeat, want [1]", got)
		}
		time.Sleep(cfg.HeartbeatInterval + time.Millisecond)
		if got := ids(a); got != "[1 2 3]" {
			t.Fatalf("a lists %s one interval after b and c joined, want [1 2 3]", got)
		}
		if got := ids(b); got != "[1 2 3]" {
			t.Fatalf("b lists %s, want [1 2 3]", got)
		}

		stopB()
		synctest.Wait()
		time.Sleep(cfg.HeartbeatInterval)
		if got := ids(a); got != "[1 3]" {
			t.Fatalf("a lists %s one interval after b drained, want [1 3]", got)
		}
		time.Sleep(cfg.HeartbeatTTL)
		if got := ids(a); got != "[1]" {
			t.Fatalf("a lists %s a ttl after agent %d stopped its heartbeats, want [1]", got, crashed.self.nodeID)
		}

		b = join(2) // a restarted agent gets a new id
		time.Sleep(cfg.HeartbeatInterval)
		if got := ids(a); got != "[1 4]" {
			t.Fatalf("a lists %s after b restarted, want [1 4]", got)
		}
		store.fail.Store(true)
		time.Sleep(cfg.HeartbeatTTL / 2)
		if got := ids(a); got != "[1 4]" {
			t.Fatalf("a lists %s shortly after the registry failed, want the last list [1 4]", got)
		}
		time.Sleep(cfg.HeartbeatTTL)
		if got := ids(a); got != "[1]" {
			t.Fatalf("a lists %s a ttl after the registry failed, want only itself", got)
		}
		store.fail.Store(false)
		time.Sleep(cfg.HeartbeatInterval)
		if got := ids(a); got != "[1]" {
			t.Fatalf("a lists %s once the registry is back, want [1] (b sent no heartbeat)", got)
		}
	})
}

// Every agent names the same coordinator for a group, whatever the
// client's zone; groups spread over the agents; the others refuse the
// group with NOT_COORDINATOR.
func TestCoordinatorByRendezvous(t *testing.T) {
	store := memory.New()
	a1, _ := runServer(t, store, "a")
	a2, _ := runServer(t, store, "a")
	b1, _ := runServer(t, store, "b")
	servers := []*Server{a1, a2, b1}
	for _, srv := range servers {
		waitBrokers(t, srv, 3)
	}
	per := map[int32]int{}
	for i := range 60 {
		group := fmt.Sprintf("group-%d", i)
		want := a1.coordinator(group).nodeID
		per[want]++
		for _, srv := range servers {
			for _, clientID := range []string{"", "sluice_az=b", "sluice_az=a"} {
				req := kmsg.NewPtrFindCoordinatorRequest()
				req.CoordinatorKey = group
				req.SetVersion(3)
				s := &slot{req: &request{kreq: req, clientID: clientID}, done: make(chan outcome, 1)}
				srv.dispatch(context.Background(), s)
				if got := (<-s.done).resp.(*kmsg.FindCoordinatorResponse).NodeID; got != want {
					t.Fatalf("%s: agent %d as %q names %d, agent %d names %d", group, srv.self.nodeID, clientID, got, a1.self.nodeID, want)
				}
			}
			hb := kmsg.NewPtrHeartbeatRequest()
			hb.Group, hb.MemberID, hb.Generation = group, "m", 1
			hb.SetVersion(4)
			s := &slot{req: &request{kreq: hb}, done: make(chan outcome, 1)}
			srv.dispatch(context.Background(), s)
			code := (<-s.done).resp.(*kmsg.HeartbeatResponse).ErrorCode
			if notCoord := code == kerr.NotCoordinator.Code; notCoord != (srv.self.nodeID != want) {
				t.Fatalf("%s coordinated by %d: agent %d answers a heartbeat with %v", group, want, srv.self.nodeID, kerr.ErrorForCode(code))
			}
		}
	}
	if len(per) != 3 {
		t.Errorf("60 groups coordinated by %v, want all 3 agents", per)
	}
}
