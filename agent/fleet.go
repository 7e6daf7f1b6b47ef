package agent

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/fnv"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluicehq/sluice/metadata"
)

// The fleet: every agent registers in the store's metadata.Registry when it
// starts (New), renews its registration every heartbeat interval and rereads
// the live agents at the same time (Run), and leaves the registry as soon as
// it starts to drain. Metadata lists the live agents as brokers, and spreads
// partition leadership over them by rendezvous hashing: each partition goes
// to the agent with the highest hash of (partition, node id), so adding an
// agent moves only the partitions it now wins, about 1/n of them, and
// removing one moves only its own. Every agent serves every partition, so a
// client that follows an older list still gets its answers.
//
// Node ids come from the registry (a Redis counter): an agent keeps its id
// for as long as it runs and a restarted agent gets a new one, so clients
// never see two agents under one id. A store without a Registry (none today)
// leaves the agent alone, under an id hashed from its address.
//
// Zones: an agent may name its zone (--zone). A client that names one in its
// client id (sluice_az=ZONE, or the ws_az=, warpstream_az=, diskless_az= and
// automq_az= that other brokers read) is told only of the agents in that
// zone, when there are any, so its traffic stays in the zone. Group
// coordinators are picked over every agent, so all members of a group, in
// any zone, find the same one.

// leaveTimeout bounds deregistering at drain when the drain timeout is
// longer: the registration expires by itself anyway.
const leaveTimeout = 5 * time.Second

// fleet is this agent's registration and its view of the live agents.
type fleet struct {
	reg      metadata.Registry // nil: the store has no registry
	self     broker
	interval time.Duration
	ttl      time.Duration
	drain    time.Duration
	log      *slog.Logger

	mu     sync.Mutex
	live   []broker  // as last read, by node id, self included
	readAt time.Time // when live was read
	failed bool      // the last heartbeat failed; logged once
}

// joinFleet registers self when the store keeps a registry, and reads the
// live agents once so that the first Metadata lists them.
func joinFleet(cfg Config, store Store, self broker, log *slog.Logger) (*fleet, error) {
	f := &fleet{self: self, interval: cfg.HeartbeatInterval, ttl: cfg.HeartbeatTTL, drain: cfg.DrainTimeout, log: log}
	reg, ok := store.(metadata.Registry)
	if !ok {
		return f, nil
	}
	f.reg = reg
	ctx, cancel := context.WithTimeout(context.Background(), cfg.HeartbeatTTL)
	defer cancel()
	id, err := reg.Register(ctx, f.self.agent(), f.ttl)
	if err != nil {
		return nil, err
	}
	f.self.nodeID = id
	log.Info("joined the fleet", "node", id, "advertise", f.self.addr(), "zone", f.self.zone)
	if err := f.refresh(ctx); err != nil {
		log.Warn("reading the live agents", "err", err)
	}
	return f, nil
}

// run renews the registration and rereads the live agents every interval
// until ctx ends, then leaves the registry, within the drain timeout.
func (f *fleet) run(ctx context.Context) {
	if f.reg == nil {
		return
	}
	t := time.NewTicker(f.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			f.leave()
			return
		case <-t.C:
			f.beat(ctx)
		}
	}
}

// beat renews the registration and reads the live agents. A failure is
// logged once until a beat succeeds again.
func (f *fleet) beat(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, f.ttl/2)
	defer cancel()
	err := f.reg.Heartbeat(ctx, f.self.agent(), f.ttl)
	if err == nil {
		err = f.refresh(ctx)
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case err != nil && errors.Is(err, metadata.ErrNodeIDTaken):
		f.log.Error("another agent holds this agent's node id: the metadata store lost writes", "node", f.self.nodeID, "err", err)
	case err != nil && !f.failed:
		f.log.Warn("renewing the fleet registration", "node", f.self.nodeID, "err", err)
	case err == nil && f.failed:
		f.log.Info("fleet registration renewed again", "node", f.self.nodeID)
	}
	f.failed = err != nil
}

// refresh rereads the live agents.
func (f *fleet) refresh(ctx context.Context) error {
	as, err := f.reg.LiveAgents(ctx)
	if err != nil {
		return err
	}
	live := make([]broker, 0, len(as)+1)
	found := false
	for _, a := range as {
		if a.NodeID == f.self.nodeID {
			found = true
			live = append(live, f.self)
			continue
		}
		live = append(live, broker{nodeID: a.NodeID, host: a.Host, port: a.Port, zone: a.Zone})
	}
	if !found {
		live = insertByID(live, f.self)
	}
	f.mu.Lock()
	f.live, f.readAt = live, time.Now()
	f.mu.Unlock()
	return nil
}

// leave deregisters, so that the other agents stop listing this one at
// their next heartbeat rather than when its registration expires.
func (f *fleet) leave() {
	ctx, cancel := context.WithTimeout(context.Background(), min(f.drain, leaveTimeout))
	defer cancel()
	if err := f.reg.Deregister(ctx, f.self.agent()); err != nil {
		f.log.Warn("leaving the fleet; the registration will expire instead", "node", f.self.nodeID, "err", err)
		return
	}
	f.log.Info("left the fleet", "node", f.self.nodeID)
}

// brokers are the live agents as last read, by node id. When the registry
// could not be read for a whole ttl, no one else is known to be alive, and
// the agent lists only itself.
func (f *fleet) brokers() []broker {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.live == nil || time.Since(f.readAt) > f.ttl {
		return []broker{f.self}
	}
	return f.live
}

// insertByID adds b to bs, kept sorted by node id.
func insertByID(bs []broker, b broker) []broker {
	i := 0
	for i < len(bs) && bs[i].nodeID < b.nodeID {
		i++
	}
	bs = append(bs, broker{})
	copy(bs[i+1:], bs[i:])
	bs[i] = b
	return bs
}

// addr is the host:port clients dial.
func (b broker) addr() string { return net.JoinHostPort(b.host, strconv.Itoa(int(b.port))) }

// agent is b as the registry holds it.
func (b broker) agent() metadata.Agent {
	return metadata.Agent{NodeID: b.nodeID, Host: b.host, Port: b.port, Zone: b.zone}
}

// inZone keeps the brokers in zone; all of them when zone is empty or none
// is in it.
func inZone(bs []broker, zone string) []broker {
	if zone == "" {
		return bs
	}
	var out []broker
	for _, b := range bs {
		if b.zone == zone {
			out = append(out, b)
		}
	}
	if len(out) == 0 {
		return bs
	}
	return out
}

// zoneHints are the client-id keys that name a client's zone: Sluice's own
// and those of other brokers, so clients configured for them work as is.
var zoneHints = []string{"sluice_az", "ws_az", "warpstream_az", "diskless_az", "automq_az"}

// clientZone is the zone a client id names, or "". The hint is one
// key=value item of the id, items being separated by commas, semicolons,
// ampersands or spaces: "sluice_az=us-east-1a", "app-7,ws_az=use1-az1".
func clientZone(clientID string) string {
	items := strings.FieldsFunc(clientID, func(r rune) bool {
		return r == ',' || r == ';' || r == '&' || r == ' '
	})
	for _, it := range items {
		k, v, ok := strings.Cut(it, "=")
		if !ok || v == "" {
			continue
		}
		for _, h := range zoneHints {
			if k == h {
				return v
			}
		}
	}
	return ""
}

// rendezvous returns the broker of bs with the highest weight for key
// (highest random weight hashing); bs must not be empty. Ties, which need
// a 64-bit collision, go to the lower node id.
func rendezvous(key uint64, bs []broker) broker {
	best, bestW := bs[0], weight(key, bs[0].nodeID)
	for _, b := range bs[1:] {
		if w := weight(key, b.nodeID); w > bestW || (w == bestW && b.nodeID < best.nodeID) {
			best, bestW = b, w
		}
	}
	return best
}

func weight(key uint64, node int32) uint64 { return mix64(key ^ mix64(uint64(uint32(node)))) }

// mix64 is splitmix64's finalizer: every input bit moves every output bit.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// partitionKey is p's rendezvous key.
func partitionKey(p metadata.Partition) uint64 {
	h := fnv.New64a()
	h.Write(p.Topic[:])
	h.Write(binary.BigEndian.AppendUint32(nil, uint32(p.Index)))
	return h.Sum64()
}

// stringKey is the rendezvous key of a group id or any other name.
func stringKey(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}
