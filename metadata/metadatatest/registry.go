package metadatatest

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/metadata"
)

// RegistryTest runs every case of the fleet registry against registries
// from newRegistry, each on a fresh, empty backend.
//
// The cases wait for registrations to expire with time.Sleep. A backend on
// the process clock passes synctest.Test as bubble so that they run on
// virtual time; nil runs them on real time, with registrations that live
// about a second.
func RegistryTest(t *testing.T, newRegistry func(t *testing.T) metadata.Registry, bubble func(*testing.T, func(*testing.T))) {
	cases := []struct {
		name string
		fn   func(*testing.T, metadata.Registry)
	}{
		{"Register", testRegister},
		{"HeartbeatRenews", testHeartbeatRenews},
		{"Expiry", testExpiry},
		{"Deregister", testDeregister},
		{"NodeIDTaken", testNodeIDTaken},
		{"ConcurrentRegister", testConcurrentRegister},
	}
	if bubble == nil {
		bubble = func(t *testing.T, f func(*testing.T)) { f(t) }
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bubble(t, func(t *testing.T) { c.fn(t, newRegistry(t)) })
		})
	}
}

// ttl is the time to live the cases register with; margins around it are
// a third of it or more, so a loaded machine does not make them flaky.
const ttl = time.Second

func register(t *testing.T, r metadata.Registry, a metadata.Agent) metadata.Agent {
	t.Helper()
	id, err := r.Register(t.Context(), a, ttl)
	if err != nil {
		t.Fatalf("Register(%+v): %v", a, err)
	}
	a.NodeID = id
	return a
}

func live(t *testing.T, r metadata.Registry) []metadata.Agent {
	t.Helper()
	as, err := r.LiveAgents(t.Context())
	if err != nil {
		t.Fatalf("LiveAgents: %v", err)
	}
	if as == nil {
		t.Fatal("LiveAgents returned nil, want an empty slice when none")
	}
	return as
}

func wantLive(t *testing.T, r metadata.Registry, want ...metadata.Agent) {
	t.Helper()
	if want == nil {
		want = []metadata.Agent{}
	}
	if got := live(t, r); !reflect.DeepEqual(got, want) {
		t.Fatalf("LiveAgents = %+v, want %+v", got, want)
	}
}

// waitGone polls until a is no longer listed, failing after three ttls.
func waitGone(t *testing.T, r metadata.Registry, a metadata.Agent) {
	t.Helper()
	for deadline := time.Now().Add(3 * ttl); ; time.Sleep(50 * time.Millisecond) {
		found := false
		for _, x := range live(t, r) {
			found = found || x.NodeID == a.NodeID
		}
		if !found {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %d still listed %s after its last heartbeat", a.NodeID, 3*ttl)
		}
	}
}

func testRegister(t *testing.T, r metadata.Registry) {
	wantLive(t, r)
	a := register(t, r, metadata.Agent{Host: "10.0.0.1", Port: 9092, Zone: "us-east-1a"})
	b := register(t, r, metadata.Agent{Host: "::1", Port: 9093})
	c := register(t, r, metadata.Agent{Host: "agent-3.internal", Port: 19092, Zone: "z,with=odd chars"})
	if a.NodeID < 1 || b.NodeID <= a.NodeID || c.NodeID <= b.NodeID {
		t.Fatalf("node ids %d, %d, %d: want increasing from at least 1", a.NodeID, b.NodeID, c.NodeID)
	}
	wantLive(t, r, a, b, c)
}

func testHeartbeatRenews(t *testing.T, r metadata.Registry) {
	a := register(t, r, metadata.Agent{Host: "10.0.0.1", Port: 9092})
	// Well past the ttl in all, but renewed every third of it.
	for range 6 {
		time.Sleep(ttl / 3)
		if err := r.Heartbeat(t.Context(), a, ttl); err != nil {
			t.Fatalf("Heartbeat: %v", err)
		}
		wantLive(t, r, a)
	}
	if err := r.Heartbeat(t.Context(), metadata.Agent{Host: "10.0.0.1", Port: 9092}, ttl); err == nil {
		t.Error("Heartbeat of node id 0 succeeded; want an error")
	}
}

func testExpiry(t *testing.T, r metadata.Registry) {
	a := register(t, r, metadata.Agent{Host: "10.0.0.1", Port: 9092})
	b := register(t, r, metadata.Agent{Host: "10.0.0.2", Port: 9092})
	time.Sleep(ttl / 3)
	if err := r.Heartbeat(t.Context(), b, 4*ttl); err != nil {
		t.Fatalf("Heartbeat: %v", err)
	}
	wantLive(t, r, a, b)
	waitGone(t, r, a)
	wantLive(t, r, b)

	// An agent that missed its heartbeats comes back under its id, and ids
	// are never given again.
	if err := r.Heartbeat(t.Context(), a, ttl); err != nil {
		t.Fatalf("Heartbeat after expiry: %v", err)
	}
	wantLive(t, r, a, b)
	c := register(t, r, metadata.Agent{Host: "10.0.0.1", Port: 9092})
	if c.NodeID <= b.NodeID {
		t.Errorf("Register after expiry gave node id %d; ids up to %d were given before", c.NodeID, b.NodeID)
	}
}

func testDeregister(t *testing.T, r metadata.Registry) {
	a := register(t, r, metadata.Agent{Host: "10.0.0.1", Port: 9092, Zone: "a"})
	b := register(t, r, metadata.Agent{Host: "10.0.0.2", Port: 9092, Zone: "b"})
	impostor := a
	impostor.Host = "10.0.0.9"
	for _, x := range []metadata.Agent{impostor, {NodeID: 999, Host: "x", Port: 1}} {
		if err := r.Deregister(t.Context(), x); err != nil {
			t.Fatalf("Deregister(%+v): %v", x, err)
		}
	}
	wantLive(t, r, a, b)
	if err := r.Deregister(t.Context(), a); err != nil {
		t.Fatalf("Deregister: %v", err)
	}
	wantLive(t, r, b)
	if err := r.Deregister(t.Context(), a); err != nil {
		t.Fatalf("Deregister again: %v", err)
	}
	c := register(t, r, metadata.Agent{Host: "10.0.0.1", Port: 9092, Zone: "a"})
	if c.NodeID <= b.NodeID {
		t.Errorf("Register after Deregister gave node id %d; ids up to %d were given before", c.NodeID, b.NodeID)
	}
}

func testNodeIDTaken(t *testing.T, r metadata.Registry) {
	a := register(t, r, metadata.Agent{Host: "10.0.0.1", Port: 9092, Zone: "a"})
	for _, other := range []metadata.Agent{
		{NodeID: a.NodeID, Host: "10.0.0.2", Port: 9092, Zone: "a"},
		{NodeID: a.NodeID, Host: "10.0.0.1", Port: 9093, Zone: "a"},
		{NodeID: a.NodeID, Host: "10.0.0.1", Port: 9092, Zone: "b"},
	} {
		if err := r.Heartbeat(t.Context(), other, ttl); !errors.Is(err, metadata.ErrNodeIDTaken) {
			t.Fatalf("Heartbeat(%+v) while %+v holds the id = %v, want ErrNodeIDTaken", other, a, err)
		}
	}
	wantLive(t, r, a)
	// Once a's registration expired, its id may be taken.
	waitGone(t, r, a)
	other := metadata.Agent{NodeID: a.NodeID, Host: "10.0.0.2", Port: 9092}
	if err := r.Heartbeat(t.Context(), other, ttl); err != nil {
		t.Fatalf("Heartbeat of an expired id: %v", err)
	}
	wantLive(t, r, other)
}

func testConcurrentRegister(t *testing.T, r metadata.Registry) {
	const n = 16
	ids := make([]int32, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			id, err := r.Register(t.Context(), metadata.Agent{Host: fmt.Sprintf("10.0.1.%d", i), Port: 9092}, ttl)
			if err != nil {
				t.Errorf("Register: %v", err)
			}
			ids[i] = id
		})
	}
	wg.Wait()
	seen := map[int32]bool{}
	for _, id := range ids {
		if id < 1 || seen[id] {
			t.Fatalf("node ids %v: want distinct, from 1", ids)
		}
		seen[id] = true
	}
	if got := len(live(t, r)); got != n {
		t.Errorf("%d agents live after %d registrations", got, n)
	}
}
