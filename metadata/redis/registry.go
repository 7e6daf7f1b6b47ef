package redis

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/metadata"
)

var _ metadata.Registry = (*Store)(nil)

// Register gives a a node id and registers it in one script; see
// registerAgentScript.
func (s *Store) Register(ctx context.Context, a metadata.Agent, ttl time.Duration) (int32, error) {
	keys := []string{agentsKey(), agentInfoKey(), agentIDKey()}
	id, err := registerAgentScript.Run(ctx, s.client, keys, encodeAgent(a), ttlMillis(ttl)).Int64()
	if err != nil {
		return 0, fmt.Errorf("registering agent %s:%d: %w", a.Host, a.Port, err)
	}
	if id < 1 {
		return 0, fmt.Errorf("registering agent %s:%d: node ids exhausted", a.Host, a.Port)
	}
	return int32(id), nil
}

// Heartbeat renews a's registration; see heartbeatAgentScript.
func (s *Store) Heartbeat(ctx context.Context, a metadata.Agent, ttl time.Duration) error {
	if a.NodeID < 1 {
		return fmt.Errorf("heartbeat of node id %d: not one Register gives", a.NodeID)
	}
	keys := []string{agentsKey(), agentInfoKey()}
	n, err := heartbeatAgentScript.Run(ctx, s.client, keys, a.NodeID, encodeAgent(a), ttlMillis(ttl)).Int()
	switch {
	case err != nil:
		return fmt.Errorf("heartbeat of node %d: %w", a.NodeID, err)
	case n == 0:
		return fmt.Errorf("heartbeat of node %d at %s:%d: %w", a.NodeID, a.Host, a.Port, metadata.ErrNodeIDTaken)
	}
	return nil
}

// Deregister removes a's registration if it holds a; see
// deregisterAgentScript.
func (s *Store) Deregister(ctx context.Context, a metadata.Agent) error {
	keys := []string{agentsKey(), agentInfoKey()}
	if err := deregisterAgentScript.Run(ctx, s.client, keys, a.NodeID, encodeAgent(a)).Err(); err != nil {
		return fmt.Errorf("deregistering node %d: %w", a.NodeID, err)
	}
	return nil
}

// LiveAgents lists the unexpired registrations; see liveAgentsScript.
func (s *Store) LiveAgents(ctx context.Context) ([]metadata.Agent, error) {
	vals, err := liveAgentsScript.Run(ctx, s.client, []string{agentsKey(), agentInfoKey()}).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("listing live agents: %w", err)
	}
	if len(vals)%2 != 0 {
		return nil, fmt.Errorf("listing live agents: %w: %d values", errBadReply, len(vals))
	}
	out := make([]metadata.Agent, 0, len(vals)/2)
	for i := 0; i < len(vals); i += 2 {
		a, err := decodeAgent(vals[i], vals[i+1])
		if err != nil {
			return nil, fmt.Errorf("listing live agents: %w", err)
		}
		out = append(out, a)
	}
	slices.SortFunc(out, func(x, y metadata.Agent) int { return cmp.Compare(x.NodeID, y.NodeID) })
	return out, nil
}

// agentRecord is an agent as the info hash holds it; the node id is the
// hash field.
type agentRecord struct {
	Host string `json:"host"`
	Port int32  `json:"port"`
	Zone string `json:"zone,omitempty"`
}

// encodeAgent writes a's registration. The scripts compare encodings to
// tell one agent from another, so it is deterministic.
func encodeAgent(a metadata.Agent) string {
	b, _ := json.Marshal(agentRecord{Host: a.Host, Port: a.Port, Zone: a.Zone}) // cannot fail: strings and an int
	return string(b)
}

func decodeAgent(id, enc string) (metadata.Agent, error) {
	n, err := strconv.ParseInt(id, 10, 32)
	if err != nil {
		return metadata.Agent{}, fmt.Errorf("%w: node id %q", errBadReply, id)
	}
	var r agentRecord
	if err := json.Unmarshal([]byte(enc), &r); err != nil {
		return metadata.Agent{}, fmt.Errorf("%w: agent %s: %v", errBadReply, id, err)
	}
	return metadata.Agent{NodeID: int32(n), Host: r.Host, Port: r.Port, Zone: r.Zone}, nil
}

// ttlMillis is ttl in whole milliseconds, at least one.
func ttlMillis(ttl time.Duration) int64 { return max(ttl.Milliseconds(), 1) }
