package memory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/sluicehq/sluice/metadata"
)

var _ metadata.Registry = (*Store)(nil)

// registryTable holds the registered agents, apart from Store.mu like the
// leases. It is not persisted: the agents of `sluice dev` are its one
// process, which registers again when it starts.
type registryTable struct {
	mu   sync.Mutex
	last int32 // the last node id given
	m    map[int32]registration
}

// registration is one agent and when its registration expires.
type registration struct {
	agent metadata.Agent
	until time.Time
}

// Register gives a the next node id no live registration holds.
func (s *Store) Register(_ context.Context, a metadata.Agent, ttl time.Duration) (int32, error) {
	r := &s.agents
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	for {
		if r.last == math.MaxInt32 {
			return 0, errors.New("registering agent: node ids exhausted")
		}
		r.last++
		if _, held := r.live(r.last, now); !held {
			break
		}
	}
	a.NodeID = r.last
	r.put(a, now.Add(ttl))
	return a.NodeID, nil
}

// Heartbeat renews a's registration, or makes it again once expired.
func (s *Store) Heartbeat(_ context.Context, a metadata.Agent, ttl time.Duration) error {
	if a.NodeID < 1 {
		return fmt.Errorf("heartbeat of node id %d: not one Register gives", a.NodeID)
	}
	r := &s.agents
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if cur, held := r.live(a.NodeID, now); held && cur != a {
		return fmt.Errorf("heartbeat of node %d at %s:%d: %w", a.NodeID, a.Host, a.Port, metadata.ErrNodeIDTaken)
	}
	r.put(a, now.Add(ttl))
	return nil
}

// Deregister removes a's registration if it is a's.
func (s *Store) Deregister(_ context.Context, a metadata.Agent) error {
	r := &s.agents
	r.mu.Lock()
	defer r.mu.Unlock()
	if cur, ok := r.m[a.NodeID]; ok && cur.agent == a {
		delete(r.m, a.NodeID)
	}
	return nil
}

// LiveAgents lists the unexpired registrations by node id, dropping the
// expired ones.
func (s *Store) LiveAgents(_ context.Context) ([]metadata.Agent, error) {
	r := &s.agents
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	out := make([]metadata.Agent, 0, len(r.m))
	for id, reg := range r.m {
		if !now.Before(reg.until) {
			delete(r.m, id)
			continue
		}
		out = append(out, reg.agent)
	}
	slices.SortFunc(out, func(x, y metadata.Agent) int { return cmp.Compare(x.NodeID, y.NodeID) })
	return out, nil
}

// live returns the agent holding id, and whether its registration is
// unexpired at now.
func (r *registryTable) live(id int32, now time.Time) (metadata.Agent, bool) {
	reg, ok := r.m[id]
	return reg.agent, ok && now.Before(reg.until)
}

func (r *registryTable) put(a metadata.Agent, until time.Time) {
	if r.m == nil {
		r.m = make(map[int32]registration)
	}
	r.m[a.NodeID] = registration{agent: a, until: until}
}
