package memory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sluicehq/sluice/metadata"
)

var (
	_ metadata.GroupStore  = (*Store)(nil)
	_ metadata.OffsetStore = (*Store)(nil)
)

// errInvalidGroup is returned by SaveGroup for a state no coordinator
// should save; nothing is saved.
var errInvalidGroup = errors.New("invalid group state")

// groupRecord is one consumer group: its saved state, nil if none, and its
// committed offsets. A record with neither is removed.
type groupRecord struct {
	state   *metadata.GroupState
	offsets map[metadata.TopicPartition]metadata.CommittedOffset
}

// groupChange is the mutation of one group; besides Group, exactly one
// field is set. Its JSON form is part of the log format (see mutation).
type groupChange struct {
	Group         string                     `json:"group"`
	Save          *metadata.GroupState       `json:"save,omitempty"`
	Delete        bool                       `json:"delete,omitempty"`
	Commit        []metadata.CommittedOffset `json:"commit,omitempty"`
	DeleteOffsets []metadata.TopicPartition  `json:"delete_offsets,omitempty"`
}

// LoadGroup returns the group's state or ErrUnknownGroup.
func (s *Store) LoadGroup(_ context.Context, group string) (metadata.GroupState, error) {
	if err := s.lock(); err != nil {
		return metadata.GroupState{}, err
	}
	defer s.mu.Unlock()
	r := s.groups[group]
	if r == nil || r.state == nil {
		return metadata.GroupState{}, fmt.Errorf("loading group %s: %w", group, metadata.ErrUnknownGroup)
	}
	return cloneGroupState(*r.state), nil
}

// SaveGroup replaces the group's state if its generation is expectGeneration.
func (s *Store) SaveGroup(_ context.Context, st metadata.GroupState, expectGeneration int32) error {
	expectGeneration = max(expectGeneration, metadata.NoGeneration)
	if st.Generation < 0 || st.Generation < expectGeneration {
		return fmt.Errorf("%w: group %s saved at generation %d, expecting %d",
			errInvalidGroup, st.Group, st.Generation, expectGeneration)
	}
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if err := s.FailNextGroupWrite.take(); err != nil {
		return err
	}
	if gen := s.generation(st.Group); gen != expectGeneration {
		return fmt.Errorf("saving group %s: generation is %d, not %d: %w",
			st.Group, gen, expectGeneration, metadata.ErrGroupFenced)
	}
	st = normalizeGroupState(st)
	_, err := s.change(mutation{Group: &groupChange{Group: st.Group, Save: &st}})
	return err
}

// DeleteGroup removes the group's state and offsets, unless it has members.
func (s *Store) DeleteGroup(_ context.Context, group string) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if err := s.FailNextGroupWrite.take(); err != nil {
		return err
	}
	r := s.groups[group]
	switch {
	case r == nil:
		return fmt.Errorf("deleting group %s: %w", group, metadata.ErrUnknownGroup)
	case r.state != nil && len(r.state.Members) > 0:
		return fmt.Errorf("deleting group %s: %d members: %w", group, len(r.state.Members), metadata.ErrGroupNotEmpty)
	}
	_, err := s.change(mutation{Group: &groupChange{Group: group, Delete: true}})
	return err
}

// ListGroups returns every group with state or offsets, sorted by id.
func (s *Store) ListGroups(context.Context) ([]metadata.GroupSummary, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	out := make([]metadata.GroupSummary, 0, len(s.groups))
	for g, r := range s.groups {
		sum := metadata.GroupSummary{Group: g, State: metadata.GroupStateEmpty}
		if r.state != nil {
			sum.ProtocolType, sum.State = r.state.ProtocolType, r.state.State
		}
		out = append(out, sum)
	}
	slices.SortFunc(out, func(a, b metadata.GroupSummary) int { return strings.Compare(a.Group, b.Group) })
	return out, nil
}

// CommitOffsets stores offsets if generation passes the group's fence.
func (s *Store) CommitOffsets(_ context.Context, group string, generation int32, offsets []metadata.CommittedOffset) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if err := s.FailNextGroupWrite.take(); err != nil {
		return err
	}
	if err := s.fence(group, generation); err != nil {
		return fmt.Errorf("committing offsets of group %s: %w", group, err)
	}
	if len(offsets) == 0 {
		return nil
	}
	os := make([]metadata.CommittedOffset, len(offsets))
	for i, o := range offsets {
		os[i] = normalizeOffset(o)
	}
	_, err := s.change(mutation{Group: &groupChange{Group: group, Commit: os}})
	return err
}

// fence returns ErrGroupFenced unless a commit at generation may be made.
func (s *Store) fence(group string, generation int32) error {
	gen := s.generation(group)
	if generation < 0 {
		if r := s.groups[group]; r != nil && r.state != nil && len(r.state.Members) > 0 {
			return fmt.Errorf("simple commit to a group with %d members: %w", len(r.state.Members), metadata.ErrGroupFenced)
		}
		return nil
	}
	if gen != generation {
		return fmt.Errorf("generation %d, group is at %d: %w", generation, gen, metadata.ErrGroupFenced)
	}
	return nil
}

// FetchOffsets returns the committed offsets of partitions, or of all.
func (s *Store) FetchOffsets(_ context.Context, group string, partitions []metadata.TopicPartition) ([]metadata.CommittedOffset, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	out := []metadata.CommittedOffset{}
	r := s.groups[group]
	if r == nil {
		return out, nil
	}
	if partitions == nil {
		for _, o := range r.offsets {
			out = append(out, cloneOffset(o))
		}
	} else {
		seen := make(map[metadata.TopicPartition]bool, len(partitions))
		for _, tp := range partitions {
			if o, ok := r.offsets[tp]; ok && !seen[tp] {
				seen[tp] = true
				out = append(out, cloneOffset(o))
			}
		}
	}
	slices.SortFunc(out, compareOffsets)
	return out, nil
}

// DeleteOffsets removes the committed offsets of partitions.
func (s *Store) DeleteOffsets(_ context.Context, group string, partitions []metadata.TopicPartition) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if err := s.FailNextGroupWrite.take(); err != nil {
		return err
	}
	r := s.groups[group]
	if r == nil || !slices.ContainsFunc(partitions, func(tp metadata.TopicPartition) bool { _, ok := r.offsets[tp]; return ok }) {
		return nil
	}
	_, err := s.change(mutation{Group: &groupChange{Group: group, DeleteOffsets: slices.Clone(partitions)}})
	return err
}

// generation returns the group's saved generation, or NoGeneration.
func (s *Store) generation(group string) int32 {
	if r := s.groups[group]; r != nil && r.state != nil {
		return r.state.Generation
	}
	return metadata.NoGeneration
}

// applyGroup makes the change c describes; see apply.
func (s *Store) applyGroup(c groupChange) {
	if s.groups == nil {
		s.groups = make(map[string]*groupRecord)
	}
	r := s.groups[c.Group]
	if r == nil {
		r = &groupRecord{offsets: make(map[metadata.TopicPartition]metadata.CommittedOffset)}
		s.groups[c.Group] = r
	}
	switch {
	case c.Save != nil:
		st := cloneGroupState(*c.Save)
		r.state = &st
	case c.Delete:
		r.state, r.offsets = nil, nil
	case c.Commit != nil:
		for _, o := range c.Commit {
			r.offsets[metadata.TopicPartition{Topic: o.Topic, Partition: o.Partition}] = cloneOffset(o)
		}
	case c.DeleteOffsets != nil:
		for _, tp := range c.DeleteOffsets {
			delete(r.offsets, tp)
		}
	}
	if r.state == nil && len(r.offsets) == 0 {
		delete(s.groups, c.Group)
	}
}

func compareOffsets(a, b metadata.CommittedOffset) int {
	return cmp.Or(strings.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
}

// normalizeGroupState keeps times to the millisecond, as the Redis store
// does, so both backends return the same values.
func normalizeGroupState(st metadata.GroupState) metadata.GroupState {
	st = cloneGroupState(st)
	st.EmptySince = millis(st.EmptySince)
	for i := range st.Members {
		m := &st.Members[i]
		m.SessionTimeout = m.SessionTimeout.Truncate(time.Millisecond)
		m.RebalanceTimeout = m.RebalanceTimeout.Truncate(time.Millisecond)
	}
	return st
}

func normalizeOffset(o metadata.CommittedOffset) metadata.CommittedOffset {
	o = cloneOffset(o)
	o.CommitTime = millis(o.CommitTime)
	return o
}

// millis returns t to the millisecond, in UTC; a zero time stays zero.
func millis(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return time.UnixMilli(t.UnixMilli()).UTC()
}

// cloneGroupState copies st deeply, so that callers never share the
// store's slices.
func cloneGroupState(st metadata.GroupState) metadata.GroupState {
	ms := make([]metadata.GroupMember, len(st.Members))
	for i, m := range st.Members {
		m.InstanceID = clonePtr(m.InstanceID)
		m.Assignment = slices.Clone(m.Assignment)
		ps := make([]metadata.GroupProtocol, len(m.Protocols))
		for j, p := range m.Protocols {
			ps[j] = metadata.GroupProtocol{Name: p.Name, Metadata: slices.Clone(p.Metadata)}
		}
		m.Protocols = ps
		ms[i] = m
	}
	st.Members = ms
	return st
}

func cloneOffset(o metadata.CommittedOffset) metadata.CommittedOffset {
	o.Metadata = clonePtr(o.Metadata)
	return o
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
