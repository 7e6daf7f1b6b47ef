package group

import (
	"slices"
	"time"

	"github.com/sluicehq/sluice/metadata"
)

// SyncRequest is a SyncGroup from one member.
type SyncRequest struct {
	MemberID   string
	InstanceID *string
	Generation int32
	// ProtocolType and Protocol, when set (SyncGroup v5), must be the
	// group's.
	ProtocolType *string
	Protocol     *string
	// Assignments is the leader's assignment of every member, by member
	// id; followers send none. Members left out get an empty assignment.
	Assignments map[string][]byte
}

// SyncResult answers a SyncGroup.
type SyncResult struct {
	Err          error
	ProtocolType string
	Protocol     string
	Assignment   []byte
}

// Sync handles a SyncGroup. done is called exactly once, at a later Flush
// (or Abort): at once, or, for a member syncing before its leader, when
// the leader's assignments arrive.
func (g *Group) Sync(now time.Time, req SyncRequest, done func(SyncResult)) {
	fail := func(err error) { g.answerSync(done, SyncResult{Err: err}) }
	m, err := g.validateMember(req.MemberID, req.InstanceID)
	switch {
	case err != nil:
		fail(err)
		return
	case req.Generation != g.generation:
		fail(ErrIllegalGeneration)
		return
	case req.ProtocolType != nil && *req.ProtocolType != g.protocolType,
		req.Protocol != nil && *req.Protocol != g.protocol:
		fail(ErrInconsistentProtocol)
		return
	}
	switch g.state {
	case PreparingRebalance:
		fail(ErrRebalanceInProgress)
	case CompletingRebalance:
		if m.sync != nil {
			g.answerSync(m.sync, SyncResult{Err: ErrRebalanceInProgress})
		}
		m.sync = done
		delete(g.pendingSync, m.MemberID)
		if m.MemberID == g.leader {
			g.assign(req.Assignments)
		}
	case Stable:
		delete(g.pendingSync, m.MemberID)
		m.deadline = now.Add(m.SessionTimeout)
		g.answerSync(done, g.syncResult(m))
	default:
		fail(ErrUnknownMemberID)
	}
	if len(g.pendingSync) == 0 {
		g.syncDeadline = time.Time{}
	}
}

// assign stores the leader's assignments, makes the group Stable and
// answers every parked sync.
func (g *Group) assign(assignments map[string][]byte) {
	for _, m := range g.members {
		m.Assignment = assignments[m.MemberID]
	}
	g.state = Stable
	g.dirty = true
	for _, m := range g.members {
		if m.sync != nil {
			g.answerSync(m.sync, g.syncResult(m))
			m.sync = nil
		}
	}
}

func (g *Group) syncResult(m *member) SyncResult {
	return SyncResult{ProtocolType: g.protocolType, Protocol: g.protocol, Assignment: m.Assignment}
}

// Heartbeat handles a Heartbeat: it keeps the member's session, and tells
// it with ErrRebalanceInProgress to join again.
func (g *Group) Heartbeat(now time.Time, memberID string, instanceID *string, generation int32) error {
	m, err := g.validateMember(memberID, instanceID)
	if err != nil {
		return err
	}
	if generation != g.generation {
		return ErrIllegalGeneration
	}
	m.deadline = now.Add(m.SessionTimeout)
	if g.state == PreparingRebalance {
		return ErrRebalanceInProgress
	}
	return nil
}

// Leave handles one member of a LeaveGroup: by member id, or by instance
// id for a static member (then a member id, if given, must be its
// current one). It returns the id of the member that left.
func (g *Group) Leave(now time.Time, memberID string, instanceID *string) (string, error) {
	if instanceID != nil {
		m := g.staticMember(*instanceID)
		switch {
		case m == nil:
			return memberID, ErrUnknownMemberID
		case memberID != "" && memberID != m.MemberID:
			return memberID, ErrFencedInstanceID
		}
		memberID = m.MemberID
	}
	if _, ok := g.pending[memberID]; ok {
		delete(g.pending, memberID)
		g.maybeCompleteJoin(now)
		return memberID, nil
	}
	m := g.member(memberID)
	if m == nil {
		return memberID, ErrUnknownMemberID
	}
	g.removeMember(m, ErrUnknownMemberID)
	g.afterRemoval(now)
	return memberID, nil
}

// CommitGeneration checks an OffsetCommit's member and generation, as
// Kafka does, and returns the generation to commit at (the store's fence):
// NoGeneration for a commit from outside the group protocol, which only an
// Empty group takes, or the group's generation. A commit keeps the
// member's session.
func (g *Group) CommitGeneration(now time.Time, memberID string, instanceID *string, generation int32) (int32, error) {
	if generation < 0 && g.state == Empty {
		return metadata.NoGeneration, nil
	}
	if generation >= 0 && !g.Stored() && len(g.members) == 0 {
		// No such group: Kafka before OffsetCommit v9 says so this way.
		return 0, ErrIllegalGeneration
	}
	var m *member
	if generation >= 0 || memberID != "" || instanceID != nil {
		var err error
		if m, err = g.validateMember(memberID, instanceID); err != nil {
			return 0, err
		}
		if generation != g.generation {
			return 0, ErrIllegalGeneration
		}
	} else {
		// A simple commit to a group with members.
		return 0, ErrUnknownMemberID
	}
	if g.state == CompletingRebalance {
		return 0, ErrRebalanceInProgress
	}
	m.deadline = now.Add(m.SessionTimeout)
	return g.generation, nil
}

// Tick applies every deadline up to now: member ids handed out and not
// used, sessions that expired, a join phase or a sync barrier that ran
// out of time.
func (g *Group) Tick(now time.Time) {
	for id, d := range g.pending {
		if !now.Before(d) {
			delete(g.pending, id)
		}
	}
	for _, m := range slices.Clone(g.members) {
		if !m.parked() && !now.Before(m.deadline) {
			g.removeMember(m, ErrUnknownMemberID)
			g.afterRemoval(now)
		}
	}
	if g.state == PreparingRebalance && !now.Before(g.rebalanceDeadline) {
		g.completeJoin(now)
	}
	if len(g.pendingSync) > 0 && !now.Before(g.syncDeadline) {
		for _, m := range slices.Clone(g.members) {
			if _, ok := g.pendingSync[m.MemberID]; ok {
				g.removeMember(m, ErrUnknownMemberID)
			}
		}
		g.pendingSync, g.syncDeadline = nil, time.Time{}
		g.rebalance(now)
	}
	g.maybeCompleteJoin(now)
}

// NextDeadline is when Tick next has work, zero if never.
func (g *Group) NextDeadline() time.Time {
	var next time.Time
	at := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, d := range g.pending {
		at(d)
	}
	for _, m := range g.members {
		if !m.parked() {
			at(m.deadline)
		}
	}
	if g.state == PreparingRebalance {
		at(g.rebalanceDeadline)
	}
	if len(g.pendingSync) > 0 {
		at(g.syncDeadline)
	}
	return next
}
