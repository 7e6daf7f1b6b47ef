package group

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/metadata"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// harness drives a Group as its owner does: after each call it saves when
// asked, then flushes the answers.
type harness struct {
	t     *testing.T
	g     *Group
	now   time.Time
	saves []metadata.GroupState
}

func newHarness(t *testing.T) *harness {
	return &harness{t: t, g: New("g", DefaultConfig()), now: t0}
}

func (h *harness) settle() {
	if h.g.NeedsSave() {
		s := h.g.Snapshot()
		if s.Generation < h.g.SavedGeneration() {
			h.t.Fatalf("saving generation %d over %d", s.Generation, h.g.SavedGeneration())
		}
		h.saves = append(h.saves, s)
		h.g.Saved()
	}
	h.g.Flush()
}

func (h *harness) advance(d time.Duration) {
	h.now = h.now.Add(d)
	h.g.Tick(h.now)
	h.settle()
}

// call is an answer that may not have come yet.
type call[T any] struct {
	n   int
	res T
}

func (c *call[T]) done(r T) { c.n++; c.res = r }

func (h *harness) join(req JoinRequest) *call[JoinResult] {
	h.t.Helper()
	if req.ProtocolType == "" {
		req.ProtocolType = "consumer"
	}
	if req.Protocols == nil {
		req.Protocols = []metadata.GroupProtocol{{Name: "range", Metadata: []byte("sub")}}
	}
	if req.SessionTimeout == 0 {
		req.SessionTimeout = 10 * time.Second
	}
	if req.RebalanceTimeout == 0 {
		req.RebalanceTimeout = 30 * time.Second
	}
	c := &call[JoinResult]{}
	h.g.Join(h.now, req, c.done)
	h.settle()
	if c.n > 1 {
		h.t.Fatalf("join answered %d times", c.n)
	}
	return c
}

func (h *harness) sync(req SyncRequest) *call[SyncResult] {
	c := &call[SyncResult]{}
	h.g.Sync(h.now, req, c.done)
	h.settle()
	return c
}

// member joins a new dynamic member the v4+ way and returns the answer of
// its second join, which may be parked.
func (h *harness) member(client string) (string, *call[JoinResult]) {
	h.t.Helper()
	first := h.join(JoinRequest{ClientID: client, RequireKnownMemberID: true})
	if first.n != 1 || !errors.Is(first.res.Err, ErrMemberIDRequired) || !strings.HasPrefix(first.res.MemberID, client+"-") {
		h.t.Fatalf("first join: %+v", first.res)
	}
	return first.res.MemberID, h.join(JoinRequest{MemberID: first.res.MemberID, ClientID: client, RequireKnownMemberID: true})
}

// stable makes a one-member Stable group and returns the member id.
func (h *harness) stable() string {
	h.t.Helper()
	id, j := h.member("a")
	if j.n != 1 || j.res.Err != nil || j.res.Leader != id || j.res.Generation != 1 {
		h.t.Fatalf("join: %+v", j.res)
	}
	s := h.sync(SyncRequest{MemberID: id, Generation: 1, Assignments: map[string][]byte{id: []byte("p0")}})
	if s.n != 1 || s.res.Err != nil || string(s.res.Assignment) != "p0" || h.g.State() != Stable {
		h.t.Fatalf("sync: %+v, state %v", s.res, h.g.State())
	}
	return id
}

func TestFirstJoinV4NeedsMemberID(t *testing.T) {
	h := newHarness(t)
	id := h.stable()
	if len(h.saves) != 2 {
		t.Fatalf("saves %d, want 2 (join, assignments)", len(h.saves))
	}
	join, sync := h.saves[0], h.saves[1]
	if join.Generation != 1 || join.State != "CompletingRebalance" || join.Protocol != "range" || join.Leader != id {
		t.Errorf("saved after join: %+v", join)
	}
	if sync.State != "Stable" || string(sync.Members[0].Assignment) != "p0" || string(sync.Members[0].Protocols[0].Metadata) != "sub" {
		t.Errorf("saved after sync: %+v", sync)
	}
}

func TestJoinBeforeV4AndStaticJoinAtOnce(t *testing.T) {
	for name, req := range map[string]JoinRequest{
		"v3":     {ClientID: "c"},
		"static": {ClientID: "c", InstanceID: ptr("i1"), RequireKnownMemberID: true},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			j := h.join(req)
			if j.n != 1 || j.res.Err != nil || j.res.Generation != 1 || j.res.Leader != j.res.MemberID || len(j.res.Members) != 1 {
				t.Fatalf("join: %+v", j.res)
			}
		})
	}
}

func TestRebalanceWithTwoMembers(t *testing.T) {
	h := newHarness(t)
	a := h.stable()
	b, bj := h.member("b")
	if bj.n != 0 || h.g.State() != PreparingRebalance {
		t.Fatalf("b's join answered early (%+v) or state %v", bj.res, h.g.State())
	}
	if err := h.g.Heartbeat(h.now, a, nil, 1); !errors.Is(err, ErrRebalanceInProgress) {
		t.Fatalf("heartbeat during rebalance: %v", err)
	}
	// An eager member commits what it consumed before joining again.
	if gen, err := h.g.CommitGeneration(h.now, a, nil, 1); err != nil || gen != 1 {
		t.Fatalf("commit while preparing: %d %v", gen, err)
	}
	aj := h.join(JoinRequest{MemberID: a, ClientID: "a", RequireKnownMemberID: true})
	if aj.n != 1 || bj.n != 1 || aj.res.Generation != 2 || bj.res.Generation != 2 {
		t.Fatalf("joins: a %+v, b %+v", aj.res, bj.res)
	}
	if aj.res.Leader != a || len(aj.res.Members) != 2 || len(bj.res.Members) != 0 {
		t.Fatalf("leader %q, members a %d b %d", aj.res.Leader, len(aj.res.Members), len(bj.res.Members))
	}
	// The follower syncs first and waits for the leader.
	bs := h.sync(SyncRequest{MemberID: b, Generation: 2})
	if bs.n != 0 {
		t.Fatalf("follower sync answered before the leader's: %+v", bs.res)
	}
	if _, err := h.g.CommitGeneration(h.now, a, nil, 2); !errors.Is(err, ErrRebalanceInProgress) {
		t.Fatalf("commit while completing: %v", err)
	}
	as := h.sync(SyncRequest{MemberID: a, Generation: 2, Assignments: map[string][]byte{a: []byte("A"), b: []byte("B"), "ghost": []byte("x")}})
	if as.n != 1 || bs.n != 1 || string(as.res.Assignment) != "A" || string(bs.res.Assignment) != "B" {
		t.Fatalf("syncs: a %+v, b %+v", as.res, bs.res)
	}
	// The stale generation is refused everywhere.
	if _, err := h.g.CommitGeneration(h.now, a, nil, 1); !errors.Is(err, ErrIllegalGeneration) {
		t.Errorf("stale commit: %v", err)
	}
	if err := h.g.Heartbeat(h.now, b, nil, 1); !errors.Is(err, ErrIllegalGeneration) {
		t.Errorf("stale heartbeat: %v", err)
	}
	if s := h.sync(SyncRequest{MemberID: b, Generation: 1}); !errors.Is(s.res.Err, ErrIllegalGeneration) {
		t.Errorf("stale sync: %v", s.res.Err)
	}
	if err := h.g.Heartbeat(h.now, "nobody", nil, 2); !errors.Is(err, ErrUnknownMemberID) {
		t.Errorf("unknown heartbeat: %v", err)
	}
}

func TestFollowerRejoinInStableNeedsNoRebalance(t *testing.T) {
	h := newHarness(t)
	a := h.stable()
	b, bj := h.member("b")
	h.join(JoinRequest{MemberID: a, ClientID: "a"})
	h.sync(SyncRequest{MemberID: b, Generation: 2})
	h.sync(SyncRequest{MemberID: a, Generation: 2, Assignments: map[string][]byte{a: {1}, b: {2}}})
	again := h.join(JoinRequest{MemberID: b, ClientID: "b"})
	if again.n != 1 || again.res.Generation != 2 || h.g.State() != Stable || bj.res.Leader != a {
		t.Fatalf("rejoin: %+v, state %v", again.res, h.g.State())
	}
	// The leader joining again always rebalances.
	if h.join(JoinRequest{MemberID: a, ClientID: "a"}).n != 0 || h.g.State() != PreparingRebalance {
		t.Fatalf("leader rejoin did not rebalance: %v", h.g.State())
	}
}

func TestSessionTimeoutRemovesMember(t *testing.T) {
	h := newHarness(t)
	a := h.stable()
	h.advance(9 * time.Second)
	if err := h.g.Heartbeat(h.now, a, nil, 1); err != nil {
		t.Fatal(err)
	}
	h.advance(9 * time.Second) // 18s after joining, 9s after the heartbeat
	if h.g.State() != Stable {
		t.Fatalf("state %v before the session ended", h.g.State())
	}
	if want := h.now.Add(time.Second); !h.g.NextDeadline().Equal(want) {
		t.Fatalf("next deadline %v, want %v", h.g.NextDeadline(), want)
	}
	h.advance(time.Second)
	if h.g.State() != Empty || h.g.Generation() != 2 {
		t.Fatalf("after the session: %v gen %d", h.g.State(), h.g.Generation())
	}
	last := h.saves[len(h.saves)-1]
	if last.State != "Empty" || len(last.Members) != 0 || !last.EmptySince.Equal(h.now) || last.Generation != 2 {
		t.Fatalf("saved %+v", last)
	}
	if err := h.g.Heartbeat(h.now, a, nil, 2); !errors.Is(err, ErrUnknownMemberID) {
		t.Fatalf("heartbeat after removal: %v", err)
	}
	if !h.g.Idle() || !h.g.NextDeadline().IsZero() {
		t.Fatal("empty group not idle")
	}
}

func TestRebalanceTimeoutDropsMembersThatDoNotJoin(t *testing.T) {
	h := newHarness(t)
	a := h.stable()
	_, bj := h.member("b")
	// a keeps heartbeating but never joins again.
	for range 5 {
		h.advance(5 * time.Second)
		_ = h.g.Heartbeat(h.now, a, nil, 1)
	}
	if bj.n != 0 {
		t.Fatalf("b answered at %v: %+v", h.now.Sub(t0), bj.res)
	}
	h.advance(5 * time.Second) // 30s: the rebalance timeout
	if bj.n != 1 || bj.res.Err != nil || bj.res.Generation != 2 || len(bj.res.Members) != 1 {
		t.Fatalf("b: %+v", bj.res)
	}
	if err := h.g.Heartbeat(h.now, a, nil, 2); !errors.Is(err, ErrUnknownMemberID) {
		t.Fatalf("a after the rebalance timeout: %v", err)
	}
}

func TestSyncBarrierDropsMembersThatDoNotSync(t *testing.T) {
	h := newHarness(t)
	a := h.stable()
	b, _ := h.member("b")
	h.join(JoinRequest{MemberID: a, ClientID: "a", SessionTimeout: time.Minute})
	h.sync(SyncRequest{MemberID: a, Generation: 2, Assignments: map[string][]byte{a: {1}, b: {2}}})
	// b never syncs; a keeps its session.
	for range 6 {
		h.advance(5 * time.Second)
		_ = h.g.Heartbeat(h.now, a, nil, h.g.Generation())
	}
	if h.g.member(b) != nil {
		t.Fatal("b still a member after the sync barrier")
	}
	if h.g.State() != PreparingRebalance {
		t.Fatalf("state %v", h.g.State())
	}
}

func TestPendingMemberIDHoldsTheJoinPhase(t *testing.T) {
	h := newHarness(t)
	a := h.stable()
	h.join(JoinRequest{ClientID: "b", RequireKnownMemberID: true}) // b learns its id...
	aj := h.join(JoinRequest{MemberID: a, ClientID: "a"})          // ...and a joins again
	if aj.n != 0 {
		t.Fatal("join completed while a member id handed out was still to come back")
	}
	h.advance(10 * time.Second) // b's id expires with its session timeout
	if aj.n != 1 || aj.res.Generation != 2 || len(aj.res.Members) != 1 {
		t.Fatalf("a: %+v", aj.res)
	}
}

func TestStaticMemberFencing(t *testing.T) {
	h := newHarness(t)
	inst := ptr("i1")
	j := h.join(JoinRequest{ClientID: "c", InstanceID: inst})
	old := j.res.MemberID
	h.sync(SyncRequest{MemberID: old, InstanceID: inst, Generation: 1, Assignments: map[string][]byte{old: []byte("A")}})
	other := h.join(JoinRequest{ClientID: "d", InstanceID: ptr("i2")})
	h.join(JoinRequest{MemberID: old, InstanceID: inst, ClientID: "c"})
	h.sync(SyncRequest{MemberID: other.res.MemberID, Generation: 2})
	h.sync(SyncRequest{MemberID: old, InstanceID: inst, Generation: 2,
		Assignments: map[string][]byte{old: []byte("A"), other.res.MemberID: []byte("B")}})
	if h.g.State() != Stable {
		t.Fatalf("state %v", h.g.State())
	}
	saves := len(h.saves)

	// The follower restarts: same instance id, no member id.
	re := h.join(JoinRequest{ClientID: "d2", InstanceID: ptr("i2")})
	if re.n != 1 || re.res.Err != nil || re.res.MemberID == other.res.MemberID || re.res.Generation != 2 || h.g.State() != Stable {
		t.Fatalf("static rejoin: %+v, state %v", re.res, h.g.State())
	}
	if len(h.saves) != saves+1 || h.saves[saves].Members[1].MemberID != re.res.MemberID {
		t.Fatal("the new member id was not saved before the answer")
	}
	if err := h.g.Heartbeat(h.now, other.res.MemberID, ptr("i2"), 2); !errors.Is(err, ErrFencedInstanceID) {
		t.Fatalf("old instance heartbeat: %v", err)
	}
	if _, err := h.g.CommitGeneration(h.now, other.res.MemberID, ptr("i2"), 2); !errors.Is(err, ErrFencedInstanceID) {
		t.Fatalf("old instance commit: %v", err)
	}
	if s := h.sync(SyncRequest{MemberID: re.res.MemberID, InstanceID: ptr("i2"), Generation: 2}); string(s.res.Assignment) != "B" {
		t.Fatalf("new instance keeps the assignment: %+v", s.res)
	}

	// The leader restarts: before v9 it is told the old id leads...
	lead := h.join(JoinRequest{ClientID: "c", InstanceID: inst})
	if lead.res.Leader != old || len(lead.res.Members) != 0 || lead.res.SkipAssignment {
		t.Fatalf("leader rejoin before v9: %+v", lead.res)
	}
	// ...and from v9 it leads but skips the assignment.
	lead9 := h.join(JoinRequest{ClientID: "c", InstanceID: inst, SkipAssignment: true})
	if lead9.res.Leader != lead9.res.MemberID || !lead9.res.SkipAssignment || len(lead9.res.Members) != 2 {
		t.Fatalf("leader rejoin v9: %+v", lead9.res)
	}
	if h.g.Generation() != 2 {
		t.Fatalf("static rejoins rebalanced: generation %d", h.g.Generation())
	}
}

func TestStaticReplacementFencesParkedJoin(t *testing.T) {
	h := newHarness(t)
	a := h.stable()
	s := h.join(JoinRequest{ClientID: "s", InstanceID: ptr("i")})
	if s.n != 0 {
		t.Fatal("join answered while a has not joined again")
	}
	s2 := h.join(JoinRequest{ClientID: "s", InstanceID: ptr("i")})
	if s.n != 1 || !errors.Is(s.res.Err, ErrFencedInstanceID) {
		t.Fatalf("old parked join: %+v", s.res)
	}
	h.join(JoinRequest{MemberID: a, ClientID: "a"})
	if s2.n != 1 || s2.res.Err != nil || s2.res.Generation != 2 {
		t.Fatalf("new join: %+v", s2.res)
	}
}

func TestLeave(t *testing.T) {
	h := newHarness(t)
	s := h.join(JoinRequest{ClientID: "s", InstanceID: ptr("i")})
	h.sync(SyncRequest{MemberID: s.res.MemberID, InstanceID: ptr("i"), Generation: 1})
	if _, err := h.g.Leave(h.now, "", ptr("other")); !errors.Is(err, ErrUnknownMemberID) {
		t.Fatalf("unknown instance: %v", err)
	}
	if _, err := h.g.Leave(h.now, "stale", ptr("i")); !errors.Is(err, ErrFencedInstanceID) {
		t.Fatalf("stale member id: %v", err)
	}
	id, err := h.g.Leave(h.now, "", ptr("i"))
	h.settle()
	if err != nil || id != s.res.MemberID {
		t.Fatalf("leave: %q %v", id, err)
	}
	if h.g.State() != Empty || h.g.Generation() != 2 || h.saves[len(h.saves)-1].State != "Empty" {
		t.Fatalf("after the last member left: %v gen %d", h.g.State(), h.g.Generation())
	}
	if _, err := h.g.Leave(h.now, id, nil); !errors.Is(err, ErrUnknownMemberID) {
		t.Fatalf("second leave: %v", err)
	}
}

func TestLeaveAnswersParkedJoin(t *testing.T) {
	h := newHarness(t)
	a := h.stable()
	b, bj := h.member("b")
	if _, err := h.g.Leave(h.now, b, nil); err != nil {
		t.Fatal(err)
	}
	h.settle()
	if bj.n != 1 || !errors.Is(bj.res.Err, ErrUnknownMemberID) {
		t.Fatalf("b's parked join: %+v", bj.res)
	}
	if aj := h.join(JoinRequest{MemberID: a, ClientID: "a"}); aj.n != 1 || aj.res.Generation != 2 {
		t.Fatalf("a: %+v", aj.res)
	}
}

func TestProtocols(t *testing.T) {
	h := newHarness(t)
	both := []metadata.GroupProtocol{{Name: "cooperative-sticky"}, {Name: "range"}}
	a := h.join(JoinRequest{ClientID: "a", Protocols: both})
	if a.res.Protocol != "cooperative-sticky" {
		t.Fatalf("chose %q", a.res.Protocol)
	}
	if j := h.join(JoinRequest{ClientID: "x", ProtocolType: "connect"}); !errors.Is(j.res.Err, ErrInconsistentProtocol) {
		t.Fatalf("other protocol type: %+v", j.res)
	}
	if j := h.join(JoinRequest{ClientID: "x", Protocols: []metadata.GroupProtocol{{Name: "roundrobin"}}}); !errors.Is(j.res.Err, ErrInconsistentProtocol) {
		t.Fatalf("no common protocol: %+v", j.res)
	}
	if j := h.join(JoinRequest{ClientID: "x", SessionTimeout: time.Second}); !errors.Is(j.res.Err, ErrInvalidSessionTimeout) {
		t.Fatalf("short session: %+v", j.res)
	}
	b := h.join(JoinRequest{ClientID: "b", Protocols: []metadata.GroupProtocol{{Name: "range"}, {Name: "cooperative-sticky"}}})
	h.join(JoinRequest{MemberID: a.res.MemberID, ClientID: "a", Protocols: both})
	if b.res.Protocol != "cooperative-sticky" {
		// One vote each; the leader's preference breaks the tie.
		t.Fatalf("chose %q", b.res.Protocol)
	}
	if s := h.sync(SyncRequest{MemberID: b.res.MemberID, Generation: 2, Protocol: ptr("range")}); !errors.Is(s.res.Err, ErrInconsistentProtocol) {
		t.Fatalf("sync with another protocol: %+v", s.res)
	}
}

func TestCommitGeneration(t *testing.T) {
	h := newHarness(t)
	if _, err := h.g.CommitGeneration(h.now, "m", nil, 3); !errors.Is(err, ErrIllegalGeneration) {
		t.Fatalf("member commit to an unknown group: %v", err)
	}
	if gen, err := h.g.CommitGeneration(h.now, "", nil, -1); err != nil || gen != metadata.NoGeneration {
		t.Fatalf("simple commit: %d %v", gen, err)
	}
	a := h.stable()
	if _, err := h.g.CommitGeneration(h.now, "", nil, -1); !errors.Is(err, ErrUnknownMemberID) {
		t.Fatalf("simple commit to an active group: %v", err)
	}
	if _, err := h.g.CommitGeneration(h.now, "x", nil, 1); !errors.Is(err, ErrUnknownMemberID) {
		t.Fatalf("commit from a stranger: %v", err)
	}
	// A commit keeps the session.
	h.advance(9 * time.Second)
	if gen, err := h.g.CommitGeneration(h.now, a, nil, 1); err != nil || gen != 1 {
		t.Fatalf("member commit: %d %v", gen, err)
	}
	h.advance(9 * time.Second)
	if h.g.State() != Stable {
		t.Fatal("commit did not keep the session")
	}
}

func TestRestoreCarriesOn(t *testing.T) {
	h := newHarness(t)
	a := h.stable()
	b, _ := h.member("b")
	h.join(JoinRequest{MemberID: a, ClientID: "a"})
	saved := h.saves[len(h.saves)-1] // generation 2, completing

	// A new coordinator loads the group: b syncs and waits for the leader.
	h2 := &harness{t: t, g: Restore(saved, DefaultConfig(), h.now), now: h.now}
	if h2.g.State() != CompletingRebalance || h2.g.SavedGeneration() != 2 {
		t.Fatalf("restored %v gen %d", h2.g.State(), h2.g.SavedGeneration())
	}
	bs := h2.sync(SyncRequest{MemberID: b, Generation: 2})
	h2.sync(SyncRequest{MemberID: a, Generation: 2, Assignments: map[string][]byte{a: {1}, b: {2}}})
	if bs.n != 1 || bs.res.Err != nil || string(bs.res.Assignment) != "\x02" {
		t.Fatalf("b: %+v", bs.res)
	}
	stable := h2.saves[len(h2.saves)-1]
	h3 := &harness{t: t, g: Restore(stable, DefaultConfig(), h.now), now: h.now}
	if err := h3.g.Heartbeat(h3.now, b, nil, 2); err != nil || h3.g.State() != Stable {
		t.Fatalf("heartbeat after restore: %v (%v)", err, h3.g.State())
	}
	// Sessions start again at the restore.
	h3.advance(10 * time.Second)
	if h3.g.State() != Empty || h3.g.Generation() != 3 {
		t.Fatalf("after both sessions: %v gen %d", h3.g.State(), h3.g.Generation())
	}
}

func TestAbortAnswersEveryone(t *testing.T) {
	h := newHarness(t)
	a := h.stable()
	_, bj := h.member("b")
	aj := &call[JoinResult]{}
	h.g.Join(h.now, JoinRequest{MemberID: a, ClientID: "a", ProtocolType: "consumer",
		Protocols: []metadata.GroupProtocol{{Name: "range"}}, SessionTimeout: 10 * time.Second}, aj.done)
	if !h.g.NeedsSave() {
		t.Fatal("completed join does not need a save")
	}
	h.g.Abort(ErrNotCoordinator) // the save failed
	if aj.n != 1 || bj.n != 1 || !errors.Is(aj.res.Err, ErrNotCoordinator) || !errors.Is(bj.res.Err, ErrNotCoordinator) {
		t.Fatalf("answers: a %+v b %+v", aj.res, bj.res)
	}
	if h.g.Stored() || !h.g.Idle() || h.g.Generation() != 0 {
		t.Fatal("aborted group not forgotten")
	}
}

func TestDescribeShowsAssignmentsWhenStable(t *testing.T) {
	h := newHarness(t)
	id, _ := h.member("a")
	if d := h.g.Describe(); d.State != CompletingRebalance || d.Protocol != "" || d.Members[0].Assignment != nil {
		t.Fatalf("completing: %+v", d)
	}
	h.sync(SyncRequest{MemberID: id, Generation: 1, Assignments: map[string][]byte{id: []byte("x")}})
	d := h.g.Describe()
	if d.State != Stable || d.Protocol != "range" || string(d.Members[0].Metadata) != "sub" || string(d.Members[0].Assignment) != "x" {
		t.Fatalf("stable: %+v", d)
	}
	if pt, md, ok := h.g.Subscriptions(); !ok || pt != "consumer" || string(md[0]) != "sub" {
		t.Fatalf("subscriptions %q %q %v", pt, md, ok)
	}
}

func TestExpired(t *testing.T) {
	day := 24 * time.Hour
	offsets := []metadata.CommittedOffset{
		{Topic: "t", Partition: 0, CommitTime: t0},
		{Topic: "t", Partition: 1, CommitTime: t0.Add(2 * day)},
	}
	got := Expired(t0.Add(7*day), 7*day, time.Time{}, offsets)
	if len(got) != 1 || got[0].Partition != 0 {
		t.Fatalf("expired %v", got)
	}
	// The group emptied after both commits: nothing expires until 7 days after.
	if got := Expired(t0.Add(8*day), 7*day, t0.Add(3*day), offsets); len(got) != 0 {
		t.Fatalf("expired %v", got)
	}
	if GroupExpired(t0.Add(day), 7*day, t0) || !GroupExpired(t0.Add(7*day), 7*day, t0) {
		t.Fatal("GroupExpired")
	}
}

func ptr(s string) *string { return &s }
