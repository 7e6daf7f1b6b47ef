package group

import (
	"slices"
	"time"

	"github.com/sluicehq/sluice/metadata"
)

// JoinRequest is a JoinGroup from one member.
type JoinRequest struct {
	MemberID     string  // "" for a member joining for the first time
	InstanceID   *string // group.instance.id of a static member
	ClientID     string
	ClientHost   string
	ProtocolType string
	Protocols    []metadata.GroupProtocol // in the member's order of preference
	// SessionTimeout and RebalanceTimeout are the member's; JoinGroup v0
	// has no rebalance timeout and uses the session timeout.
	SessionTimeout   time.Duration
	RebalanceTimeout time.Duration
	// RequireKnownMemberID is set for JoinGroup v4 and later: a new dynamic
	// member is given its id with ErrMemberIDRequired and joins again.
	RequireKnownMemberID bool
	// SkipAssignment is set for JoinGroup v9 and later: the client
	// understands a leader's join answered with SkipAssignment.
	SkipAssignment bool
}

// JoinResult answers a JoinGroup.
type JoinResult struct {
	// Err is nil or one of this package's errors. With ErrMemberIDRequired,
	// MemberID is the id to join again with.
	Err          error
	MemberID     string
	Generation   int32 // -1 with an error
	ProtocolType string
	Protocol     string
	Leader       string
	// SkipAssignment tells a static leader that joined again to keep the
	// assignment it has instead of computing one (KIP-814).
	SkipAssignment bool
	// Members are every member with its metadata; the leader's only.
	Members []Member
}

// Join handles a JoinGroup. done is called exactly once, at a later Flush
// (or Abort): at once for an error or a member that needs no rebalance,
// otherwise when the rebalance completes.
func (g *Group) Join(now time.Time, req JoinRequest, done func(JoinResult)) {
	fail := func(err error) { g.answerJoin(done, JoinResult{Err: err, Generation: -1}) }
	if req.SessionTimeout < g.cfg.MinSessionTimeout || req.SessionTimeout > g.cfg.MaxSessionTimeout {
		fail(ErrInvalidSessionTimeout)
		return
	}
	if !g.supports(req) {
		fail(ErrInconsistentProtocol)
		return
	}
	if req.MemberID == "" {
		g.joinNew(now, req, done)
		return
	}
	if req.InstanceID != nil {
		if _, err := g.validateMember(req.MemberID, req.InstanceID); err != nil {
			fail(err)
			return
		}
	}
	if _, ok := g.pending[req.MemberID]; ok {
		delete(g.pending, req.MemberID)
		g.addMember(now, req.MemberID, req, done)
		return
	}
	m := g.member(req.MemberID)
	if m == nil {
		fail(ErrUnknownMemberID)
		return
	}
	switch g.state {
	case CompletingRebalance:
		if sameProtocols(m.Protocols, req.Protocols) {
			g.answerJoin(done, g.joinResult(m.MemberID))
			return
		}
	case Stable:
		if m.MemberID != g.leader && sameProtocols(m.Protocols, req.Protocols) {
			m.deadline = now.Add(m.SessionTimeout)
			g.answerJoin(done, g.joinResult(m.MemberID))
			return
		}
	}
	g.parkJoin(m, req, done)
	g.rebalance(now)
}

// supports is Kafka's protocol check: a group without members takes any
// protocol type; otherwise the type must match and one of the member's
// protocols must be supported by every other member.
func (g *Group) supports(req JoinRequest) bool {
	if req.ProtocolType == "" || len(req.Protocols) == 0 {
		return false
	}
	others := 0
	for _, m := range g.members {
		if m.MemberID != req.MemberID {
			others++
		}
	}
	if others == 0 {
		return true
	}
	if req.ProtocolType != g.protocolType {
		return false
	}
	for _, p := range req.Protocols {
		if g.supportedBy(p.Name, req.MemberID) == others {
			return true
		}
	}
	return false
}

// supportedBy counts the members other than except that offer protocol.
func (g *Group) supportedBy(protocol, except string) int {
	n := 0
	for _, m := range g.members {
		if m.MemberID != except && hasProtocol(m, protocol) {
			n++
		}
	}
	return n
}

func hasProtocol(m *member, name string) bool {
	for _, p := range m.Protocols {
		if p.Name == name {
			return true
		}
	}
	return false
}

// joinNew handles a join without a member id.
func (g *Group) joinNew(now time.Time, req JoinRequest, done func(JoinResult)) {
	if req.InstanceID != nil {
		if old := g.staticMember(*req.InstanceID); old != nil {
			g.replaceStatic(now, old, req, done)
			return
		}
		// A static member joins at once: it has no id to learn.
		g.addMember(now, newMemberID(*req.InstanceID), req, done)
		return
	}
	id := newMemberID(req.ClientID)
	if req.RequireKnownMemberID {
		g.pending[id] = now.Add(req.SessionTimeout)
		g.answerJoin(done, JoinResult{Err: ErrMemberIDRequired, MemberID: id, Generation: -1})
		return
	}
	g.addMember(now, id, req, done)
}

// addMember adds a member with a parked join and rebalances.
func (g *Group) addMember(now time.Time, id string, req JoinRequest, done func(JoinResult)) {
	if len(g.members) == 0 {
		g.protocolType = req.ProtocolType
	}
	m := &member{GroupMember: metadata.GroupMember{MemberID: id, InstanceID: req.InstanceID}}
	g.members = append(g.members, m)
	g.parkJoin(m, req, done)
	g.rebalance(now)
}

// parkJoin records the member's join, answering an earlier parked one.
func (g *Group) parkJoin(m *member, req JoinRequest, done func(JoinResult)) {
	if m.join != nil {
		g.answerJoin(m.join, JoinResult{Err: ErrRebalanceInProgress, Generation: -1})
	}
	m.ClientID, m.ClientHost = req.ClientID, req.ClientHost
	m.SessionTimeout, m.RebalanceTimeout = req.SessionTimeout, req.RebalanceTimeout
	m.Protocols = req.Protocols
	m.join = done
}

// replaceStatic gives a static member that joined again without its member
// id a new id, fencing the old one (KIP-345). In a Stable group with
// unchanged protocols it keeps its assignment without a rebalance.
func (g *Group) replaceStatic(now time.Time, m *member, req JoinRequest, done func(JoinResult)) {
	g.answerParked(m, ErrFencedInstanceID)
	oldID := m.MemberID
	m.MemberID = newMemberID(*req.InstanceID)
	if g.leader == oldID {
		g.leader = m.MemberID
	}
	if _, ok := g.pendingSync[oldID]; ok {
		delete(g.pendingSync, oldID)
		g.pendingSync[m.MemberID] = struct{}{}
	}
	if g.state == Stable && sameProtocols(m.Protocols, req.Protocols) {
		m.ClientID, m.ClientHost = req.ClientID, req.ClientHost
		m.SessionTimeout, m.RebalanceTimeout = req.SessionTimeout, req.RebalanceTimeout
		m.deadline = now.Add(m.SessionTimeout)
		g.dirty = true // the store must know the new id before the member uses it
		r := g.joinResult(m.MemberID)
		if g.leader == m.MemberID {
			if req.SkipAssignment {
				r.SkipAssignment = true
			} else {
				// Before v9 the leader is told the old id leads, so that
				// it does not compute an assignment nobody would get.
				r.Leader, r.Members = oldID, nil
			}
		}
		g.answerJoin(done, r)
		return
	}
	g.parkJoin(m, req, done)
	g.rebalance(now)
}

// joinResult is the answer of a completed join for member id.
func (g *Group) joinResult(id string) JoinResult {
	r := JoinResult{
		MemberID:     id,
		Generation:   g.generation,
		ProtocolType: g.protocolType,
		Protocol:     g.protocol,
		Leader:       g.leader,
	}
	if id == g.leader {
		for _, m := range g.members {
			r.Members = append(r.Members, Member{ID: m.MemberID, InstanceID: m.InstanceID, Metadata: m.metadataFor(g.protocol)})
		}
	}
	return r
}

// rebalance moves the group to PreparingRebalance, if it is not there
// already, and completes the join if every member has joined.
func (g *Group) rebalance(now time.Time) {
	if g.state != PreparingRebalance {
		if g.state == CompletingRebalance {
			// Syncs waiting for an assignment will not get one.
			for _, m := range g.members {
				m.Assignment = nil
				if m.sync != nil {
					g.answerSync(m.sync, SyncResult{Err: ErrRebalanceInProgress})
					m.sync = nil
				}
			}
		}
		g.pendingSync, g.syncDeadline = nil, time.Time{}
		g.state = PreparingRebalance
		g.rebalanceDeadline = now.Add(g.rebalanceTimeout())
	}
	g.maybeCompleteJoin(now)
}

// maybeCompleteJoin completes the join once every member has joined and no
// member id handed out is still to come back.
func (g *Group) maybeCompleteJoin(now time.Time) {
	if g.state != PreparingRebalance || len(g.pending) > 0 {
		return
	}
	for _, m := range g.members {
		if m.join == nil {
			return
		}
	}
	g.completeJoin(now)
}

// completeJoin ends the join phase: members that did not join are removed,
// the generation moves on, a protocol is chosen and every join is answered.
func (g *Group) completeJoin(now time.Time) {
	for _, m := range slices.Clone(g.members) {
		if m.join == nil {
			g.removeMember(m, ErrUnknownMemberID)
		}
	}
	g.rebalanceDeadline = time.Time{}
	g.generation++
	g.dirty = true
	if len(g.members) == 0 {
		g.state, g.protocol, g.leader = Empty, "", ""
		g.emptySince = now
		return
	}
	g.emptySince = time.Time{}
	g.protocol = g.chooseProtocol()
	if g.member(g.leader) == nil {
		g.leader = g.members[0].MemberID
	}
	g.state = CompletingRebalance
	g.startSyncBarrier(now)
	for _, m := range g.members {
		m.deadline = now.Add(m.SessionTimeout)
		g.answerJoin(m.join, g.joinResult(m.MemberID))
		m.join = nil
	}
}

// startSyncBarrier expects a SyncGroup from every member within the
// rebalance timeout.
func (g *Group) startSyncBarrier(now time.Time) {
	g.pendingSync = make(map[string]struct{}, len(g.members))
	for _, m := range g.members {
		g.pendingSync[m.MemberID] = struct{}{}
	}
	g.syncDeadline = now.Add(g.rebalanceTimeout())
}

// chooseProtocol is Kafka's vote: of the protocols every member offers,
// each member votes for the one it prefers most; ties go to the earlier
// in the leader's (or first member's) order.
func (g *Group) chooseProtocol() string {
	votes := map[string]int{}
	for _, m := range g.members {
		for _, p := range m.Protocols {
			if g.supportedBy(p.Name, "") == len(g.members) {
				votes[p.Name]++
				break
			}
		}
	}
	first := g.member(g.leader)
	if first == nil {
		first = g.members[0]
	}
	best, n := "", 0
	for _, p := range first.Protocols {
		if votes[p.Name] > n {
			best, n = p.Name, votes[p.Name]
		}
	}
	return best
}

// removeMember drops m, answering its parked requests with err. The caller
// rebalances.
func (g *Group) removeMember(m *member, err error) {
	g.answerParked(m, err)
	for i, x := range g.members {
		if x == m {
			g.members = append(g.members[:i], g.members[i+1:]...)
			break
		}
	}
	delete(g.pendingSync, m.MemberID)
	if g.leader == m.MemberID {
		g.leader = ""
		if len(g.members) > 0 {
			g.leader = g.members[0].MemberID
		}
	}
}

// afterRemoval rebalances a group that lost a member.
func (g *Group) afterRemoval(now time.Time) {
	switch g.state {
	case Stable, CompletingRebalance:
		g.rebalance(now)
	case PreparingRebalance:
		g.maybeCompleteJoin(now)
	}
}
