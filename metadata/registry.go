package metadata

import (
	"context"
	"errors"
	"time"
)

// ErrNodeIDTaken is returned by Registry.Heartbeat when another agent's
// unexpired registration holds the node id. Register never gives an id
// twice, so this only happens after the store lost writes; the caller
// registers again for a new id.
var ErrNodeIDTaken = errors.New("node id registered by another agent")

// Agent is one agent of a fleet as the registry lists it: what Metadata
// tells clients about it.
type Agent struct {
	// NodeID is given by Register: the Kafka broker id clients know the
	// agent by, for as long as the agent runs.
	NodeID int32
	// Host and Port are the address the agent advertises.
	Host string
	Port int32
	// Zone is the agent's availability zone; empty when not set.
	Zone string
}

// Registry is an optional capability of a store: the live agents of a fleet.
// An agent registers when it starts, renews its registration with a
// heartbeat well within the time to live, and deregisters when it drains.
// A registration that is not renewed in time expires, so an agent that
// crashed drops out of the list by itself.
//
// Expiry is measured by one clock, the store's, so agents' clocks may
// disagree. All methods are linearizable.
type Registry interface {
	// Register adds a (its NodeID is ignored) for ttl and returns its node
	// id: at least 1, never given before by this store, so two agents never
	// hold one id and a restarted agent gets a new one.
	Register(ctx context.Context, a Agent, ttl time.Duration) (int32, error)
	// Heartbeat renews a's registration until ttl from now. A registration
	// that had expired is made again under the same id. It returns
	// ErrNodeIDTaken, and changes nothing, when an unexpired registration of
	// a.NodeID holds a different agent (any other field differs).
	Heartbeat(ctx context.Context, a Agent, ttl time.Duration) error
	// Deregister removes a's registration at once. A registration that has
	// expired, or was never made, is not an error; one that holds a
	// different agent is left alone.
	Deregister(ctx context.Context, a Agent) error
	// LiveAgents returns the agents whose registration has not expired,
	// sorted by node id; an empty slice if none. An agent is listed from the
	// moment Register or Heartbeat returns until it deregisters or its ttl
	// runs out.
	LiveAgents(ctx context.Context) ([]Agent, error)
}
