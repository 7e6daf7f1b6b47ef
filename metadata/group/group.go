package group

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"slices"
	"time"

	"github.com/sluicehq/sluice/metadata"
)

// State is a group's state, named as Kafka names it.
type State int8

const (
	// Empty: no members. Offsets may be committed from outside the
	// protocol (generation -1).
	Empty State = iota
	// PreparingRebalance: waiting for every member to join again.
	PreparingRebalance
	// CompletingRebalance: joined; waiting for the leader's assignments.
	CompletingRebalance
	// Stable: every member has its assignment.
	Stable
)

func (s State) String() string {
	switch s {
	case Empty:
		return "Empty"
	case PreparingRebalance:
		return "PreparingRebalance"
	case CompletingRebalance:
		return "CompletingRebalance"
	case Stable:
		return "Stable"
	}
	return "Unknown"
}

// parseState reads a saved state name. A name this package never saves
// reads as Stable for a group with members and Empty without.
func parseState(name string, members int) State {
	for s := Empty; s <= Stable; s++ {
		if s.String() == name {
			return s
		}
	}
	if members > 0 {
		return Stable
	}
	return Empty
}

// Config bounds what members may ask for.
type Config struct {
	// MinSessionTimeout and MaxSessionTimeout bound a member's session
	// timeout (Kafka's group.min.session.timeout.ms and
	// group.max.session.timeout.ms).
	MinSessionTimeout time.Duration
	MaxSessionTimeout time.Duration
}

// DefaultConfig is Kafka's defaults.
func DefaultConfig() Config {
	return Config{MinSessionTimeout: 6 * time.Second, MaxSessionTimeout: 30 * time.Minute}
}

// Member describes one member.
type Member struct {
	ID         string
	InstanceID *string
	ClientID   string
	ClientHost string
	// Metadata is the member's metadata for the chosen protocol.
	Metadata []byte
	// Assignment is what the leader assigned it this generation.
	Assignment []byte
}

// member is a member and what the coordinator tracks for it.
type member struct {
	metadata.GroupMember
	// deadline is when the session expires unless the member is heard
	// from; it does not run while a join or sync is parked.
	deadline time.Time
	join     func(JoinResult) // a parked JoinGroup
	sync     func(SyncResult) // a parked SyncGroup
}

func (m *member) parked() bool { return m.join != nil || m.sync != nil }

func (m *member) metadataFor(protocol string) []byte {
	for _, p := range m.Protocols {
		if p.Name == protocol {
			return p.Metadata
		}
	}
	return nil
}

// Group is one consumer group's coordinator state. It is not safe for
// concurrent use: one goroutine owns it.
type Group struct {
	cfg          Config
	id           string
	state        State
	protocolType string
	protocol     string
	generation   int32
	leader       string
	members      []*member // in join order
	// pending holds dynamic member ids handed out with MEMBER_ID_REQUIRED
	// and the deadline to join with them.
	pending map[string]time.Time
	// pendingSync holds members that joined this generation and have not
	// synced; they are removed at syncDeadline.
	pendingSync       map[string]struct{}
	rebalanceDeadline time.Time
	syncDeadline      time.Time
	emptySince        time.Time

	saved  int32 // the generation the store holds
	dirty  bool  // changed since saved
	outbox []reply
}

// reply is a parked or immediate answer waiting for Flush.
type reply struct {
	join func(JoinResult)
	jr   JoinResult
	sync func(SyncResult)
	sr   SyncResult
}

// New returns a group that has no stored state.
func New(id string, cfg Config) *Group {
	return &Group{cfg: cfg, id: id, saved: metadata.NoGeneration, pending: map[string]time.Time{}}
}

// Restore returns the group a coordinator saved, as a new coordinator
// carries it on at now: every member's session starts again, and a group
// that was completing a rebalance waits again for its members' syncs.
func Restore(s metadata.GroupState, cfg Config, now time.Time) *Group {
	g := New(s.Group, cfg)
	g.protocolType, g.protocol = s.ProtocolType, s.Protocol
	g.generation, g.saved, g.leader = s.Generation, s.Generation, s.Leader
	g.emptySince = s.EmptySince
	for _, sm := range s.Members {
		g.members = append(g.members, &member{GroupMember: sm, deadline: now.Add(sm.SessionTimeout)})
	}
	g.state = parseState(s.State, len(g.members))
	switch g.state {
	case Empty:
		g.members, g.leader, g.protocol = nil, "", ""
	case PreparingRebalance:
		g.rebalanceDeadline = now.Add(g.rebalanceTimeout())
	case CompletingRebalance:
		g.startSyncBarrier(now)
	}
	if g.state != Empty && g.member(g.leader) == nil {
		g.leader = g.members[0].MemberID
	}
	return g
}

// ID is the group id.
func (g *Group) ID() string { return g.id }

// State is the group's state.
func (g *Group) State() State { return g.state }

// Generation is the group's generation, 0 before its first rebalance.
func (g *Group) Generation() int32 { return g.generation }

// Idle reports whether nothing of the group lives only in memory: no
// members, no member ids handed out, no answer waiting.
func (g *Group) Idle() bool {
	return len(g.members) == 0 && len(g.pending) == 0 && len(g.outbox) == 0 && !g.dirty
}

// Stored reports whether the group has saved state.
func (g *Group) Stored() bool { return g.saved != metadata.NoGeneration }

// EmptySince is when the group lost its last member; zero if it has
// members or never had any.
func (g *Group) EmptySince() time.Time { return g.emptySince }

// NeedsSave reports whether the group changed in a way the store must hold
// before any answer is sent: a new generation, assignments, or a static
// member's new id. The owner saves Snapshot with SaveGroup expecting
// SavedGeneration, calls Saved, then Flush.
func (g *Group) NeedsSave() bool { return g.dirty }

// SavedGeneration is the generation the store holds, NoGeneration if none.
func (g *Group) SavedGeneration() int32 { return g.saved }

// Saved records that Snapshot was saved.
func (g *Group) Saved() {
	g.saved = g.generation
	g.dirty = false
}

// Snapshot is the state to save.
func (g *Group) Snapshot() metadata.GroupState {
	s := metadata.GroupState{
		Group:        g.id,
		ProtocolType: g.protocolType,
		Protocol:     g.protocol,
		Generation:   g.generation,
		Leader:       g.leader,
		State:        g.state.String(),
		EmptySince:   g.emptySince,
	}
	for _, m := range g.members {
		s.Members = append(s.Members, m.GroupMember)
	}
	return s
}

// Flush delivers every answer decided since the last Flush, in order.
func (g *Group) Flush() {
	out := g.outbox
	g.outbox = nil
	for _, r := range out {
		if r.join != nil {
			r.join(r.jr)
		} else {
			r.sync(r.sr)
		}
	}
}

// Abort answers every parked request and every answer not yet flushed with
// err, and forgets the group: the owner drops it and loads it again. It is
// what happens when the store refused a save (another coordinator owns the
// group) or could not be reached.
func (g *Group) Abort(err error) {
	for _, r := range g.outbox {
		if r.join != nil {
			r.join(JoinResult{Err: err, Generation: -1})
		} else {
			r.sync(SyncResult{Err: err})
		}
	}
	g.outbox = nil
	for _, m := range g.members {
		g.answerParked(m, err)
	}
	g.Flush()
	*g = *New(g.id, g.cfg)
}

func (g *Group) answerJoin(done func(JoinResult), r JoinResult) {
	g.outbox = append(g.outbox, reply{join: done, jr: r})
}

func (g *Group) answerSync(done func(SyncResult), r SyncResult) {
	g.outbox = append(g.outbox, reply{sync: done, sr: r})
}

// answerParked answers m's parked requests, if any, with err.
func (g *Group) answerParked(m *member, err error) {
	if m.join != nil {
		g.answerJoin(m.join, JoinResult{Err: err, Generation: -1})
		m.join = nil
	}
	if m.sync != nil {
		g.answerSync(m.sync, SyncResult{Err: err})
		m.sync = nil
	}
}

func (g *Group) member(id string) *member {
	for _, m := range g.members {
		if m.MemberID == id {
			return m
		}
	}
	return nil
}

func (g *Group) staticMember(instanceID string) *member {
	for _, m := range g.members {
		if m.InstanceID != nil && *m.InstanceID == instanceID {
			return m
		}
	}
	return nil
}

// validateMember is Kafka's check of a member's identity: a static member
// is known by its instance id, and fenced if that id has a newer member.
func (g *Group) validateMember(memberID string, instanceID *string) (*member, error) {
	if instanceID != nil {
		m := g.staticMember(*instanceID)
		if m == nil {
			return nil, ErrUnknownMemberID
		}
		if m.MemberID != memberID {
			return nil, ErrFencedInstanceID
		}
		return m, nil
	}
	if m := g.member(memberID); m != nil {
		return m, nil
	}
	return nil, ErrUnknownMemberID
}

func (g *Group) rebalanceTimeout() time.Duration {
	var d time.Duration
	for _, m := range g.members {
		d = max(d, m.RebalanceTimeout)
	}
	return d
}

// Describe is the group as DescribeGroups shows it. As in Kafka, members'
// metadata and assignments, and the protocol, are shown only when Stable.
func (g *Group) Describe() Description {
	d := Description{State: g.state, ProtocolType: g.protocolType, Generation: g.generation, Leader: g.leader}
	if g.state == Stable {
		d.Protocol = g.protocol
	}
	for _, m := range g.members {
		dm := Member{ID: m.MemberID, InstanceID: m.InstanceID, ClientID: m.ClientID, ClientHost: m.ClientHost}
		if g.state == Stable {
			dm.Metadata, dm.Assignment = m.metadataFor(g.protocol), m.Assignment
		}
		d.Members = append(d.Members, dm)
	}
	return d
}

// Description is a group as DescribeGroups shows it.
type Description struct {
	State        State
	ProtocolType string
	Protocol     string
	Generation   int32
	Leader       string
	Members      []Member
}

// Subscriptions returns the protocol type and every member's metadata for
// the chosen protocol; ok is false when no protocol is chosen (no members,
// or a rebalance before its first join completed).
func (g *Group) Subscriptions() (protocolType string, metadata [][]byte, ok bool) {
	if len(g.members) == 0 || g.protocol == "" {
		return g.protocolType, nil, false
	}
	for _, m := range g.members {
		metadata = append(metadata, m.metadataFor(g.protocol))
	}
	return g.protocolType, metadata, true
}

func sameProtocols(a, b []metadata.GroupProtocol) bool {
	return slices.EqualFunc(a, b, func(x, y metadata.GroupProtocol) bool {
		return x.Name == y.Name && bytes.Equal(x.Metadata, y.Metadata)
	})
}

// newMemberID is Kafka's form: the client id (or instance id) and a UUID.
func newMemberID(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%s-%x-%x-%x-%x-%x", prefix, b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
