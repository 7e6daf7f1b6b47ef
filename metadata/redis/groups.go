package redis

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/sluicehq/sluice/metadata"
)

var (
	_ metadata.GroupStore  = (*Store)(nil)
	_ metadata.OffsetStore = (*Store)(nil)
)

// errInvalidGroup is returned by SaveGroup for a state no coordinator
// should save; nothing is saved.
var errInvalidGroup = errors.New("invalid group state")

// A group's state and offsets share one slot, so the fence and the write
// are one script. The names set, for ListGroups, is in another slot and is
// kept in step without atomicity: every write queues SADD in the same
// round trip as its script, and adds again after a script that created the
// group, so a delete racing a commit cannot leave a group unlisted.
// DeleteGroup queues SREM before its script. A stale name only costs
// ListGroups a lookup.

// LoadGroup returns the group's state or ErrUnknownGroup.
func (s *Store) LoadGroup(ctx context.Context, group string) (metadata.GroupState, error) {
	data, err := s.client.HGet(ctx, groupStateKey(group), "data").Result()
	if errors.Is(err, redis.Nil) {
		return metadata.GroupState{}, fmt.Errorf("loading group %s: %w", group, metadata.ErrUnknownGroup)
	}
	if err != nil {
		return metadata.GroupState{}, fmt.Errorf("loading group %s: %w", group, err)
	}
	return decodeGroupState(group, data)
}

// SaveGroup replaces the group's state if its generation is
// expectGeneration: one round trip, with saveGroupScript.
func (s *Store) SaveGroup(ctx context.Context, st metadata.GroupState, expectGeneration int32) error {
	expectGeneration = max(expectGeneration, metadata.NoGeneration)
	if st.Generation < 0 || st.Generation < expectGeneration {
		return fmt.Errorf("%w: group %s saved at generation %d, expecting %d",
			errInvalidGroup, st.Group, st.Generation, expectGeneration)
	}
	data, err := encodeGroupState(st)
	if err != nil {
		return err
	}
	keys := []string{groupStateKey(st.Group), groupOffsetsKey(st.Group)}
	res, err := s.writeGroup(ctx, st.Group, true, saveGroupScript, keys,
		expectGeneration, st.Generation, len(st.Members), st.ProtocolType, st.State, data)
	switch {
	case err != nil:
		return fmt.Errorf("saving group %s: %w", st.Group, err)
	case res[0] == 0:
		return fmt.Errorf("saving group %s: generation is %d, not %d: %w",
			st.Group, res[1], expectGeneration, metadata.ErrGroupFenced)
	}
	return nil
}

// DeleteGroup removes the group's state and offsets unless it has members.
func (s *Store) DeleteGroup(ctx context.Context, group string) error {
	keys := []string{groupStateKey(group), groupOffsetsKey(group)}
	cmd, err := s.pipelineScript(ctx, func(p redis.Pipeliner) { p.SRem(ctx, groupNamesKey(), group) },
		deleteGroupScript, keys)
	var n int64
	if err == nil {
		n, err = cmd.Int64()
	}
	if err == nil && n < 0 {
		// The names set must list it again; a crash before this is healed
		// by the group's next write.
		err = s.client.SAdd(ctx, groupNamesKey(), group).Err()
	}
	switch {
	case err != nil:
		return fmt.Errorf("deleting group %s: %w", group, err)
	case n == 0:
		return fmt.Errorf("deleting group %s: %w", group, metadata.ErrUnknownGroup)
	case n < 0:
		return fmt.Errorf("deleting group %s: %w", group, metadata.ErrGroupNotEmpty)
	}
	return nil
}

// ListGroups returns every group with state or offsets, sorted by id: one
// round trip for the names and one for their states.
func (s *Store) ListGroups(ctx context.Context) ([]metadata.GroupSummary, error) {
	names, err := s.client.SMembers(ctx, groupNamesKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("listing groups: %w", err)
	}
	states := make([]*redis.SliceCmd, len(names))
	offsets := make([]*redis.IntCmd, len(names))
	_, err = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, g := range names {
			states[i] = p.HMGet(ctx, groupStateKey(g), "type", "state")
			offsets[i] = p.Exists(ctx, groupOffsetsKey(g))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing groups: %w", err)
	}
	out := make([]metadata.GroupSummary, 0, len(names))
	for i, g := range names {
		v := states[i].Val()
		typ, okT := v[0].(string)
		state, okS := v[1].(string)
		switch {
		case okT && okS:
			out = append(out, metadata.GroupSummary{Group: g, ProtocolType: typ, State: state})
		case offsets[i].Val() > 0:
			out = append(out, metadata.GroupSummary{Group: g, State: metadata.GroupStateEmpty})
		}
	}
	slices.SortFunc(out, func(a, b metadata.GroupSummary) int { return strings.Compare(a.Group, b.Group) })
	return out, nil
}

// CommitOffsets stores offsets if generation passes the group's fence: one
// round trip, with commitOffsetsScript.
func (s *Store) CommitOffsets(ctx context.Context, group string, generation int32, offsets []metadata.CommittedOffset) error {
	args := make([]any, 0, 1+2*len(offsets))
	args = append(args, max(generation, metadata.NoGeneration))
	for _, o := range offsets {
		args = append(args, offsetField(metadata.TopicPartition{Topic: o.Topic, Partition: o.Partition}), encodeOffset(o))
	}
	keys := []string{groupStateKey(group), groupOffsetsKey(group)}
	res, err := s.writeGroup(ctx, group, len(offsets) > 0, commitOffsetsScript, keys, args...)
	switch {
	case err != nil:
		return fmt.Errorf("committing offsets of group %s: %w", group, err)
	case res[0] == 0 && len(res) != 3:
		return fmt.Errorf("committing offsets of group %s: %w: %v", group, errBadReply, res)
	case res[0] == 0:
		return fmt.Errorf("committing offsets of group %s: generation %d, group is at %d with %d members: %w",
			group, generation, res[1], res[2], metadata.ErrGroupFenced)
	}
	return nil
}

// FetchOffsets returns the committed offsets of partitions, or of all:
// one HMGET or HGETALL.
func (s *Store) FetchOffsets(ctx context.Context, group string, partitions []metadata.TopicPartition) ([]metadata.CommittedOffset, error) {
	var fields, values []string
	if partitions == nil {
		h, err := s.client.HGetAll(ctx, groupOffsetsKey(group)).Result()
		if err != nil {
			return nil, fmt.Errorf("fetching offsets of group %s: %w", group, err)
		}
		for f, v := range h {
			fields, values = append(fields, f), append(values, v)
		}
	} else if len(partitions) > 0 {
		fields = offsetFields(partitions)
		vs, err := s.client.HMGet(ctx, groupOffsetsKey(group), fields...).Result()
		if err != nil {
			return nil, fmt.Errorf("fetching offsets of group %s: %w", group, err)
		}
		values = make([]string, len(vs))
		for i, v := range vs {
			values[i], _ = v.(string) // nil for a partition without a commit
		}
	}
	out := make([]metadata.CommittedOffset, 0, len(fields))
	for i, f := range fields {
		if values[i] == "" {
			continue
		}
		tp, err := parseOffsetField(f)
		if err != nil {
			return nil, err
		}
		o, err := decodeOffset(tp, values[i])
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b metadata.CommittedOffset) int {
		return cmp.Or(strings.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	return out, nil
}

// DeleteOffsets removes the committed offsets of partitions: one HDEL.
func (s *Store) DeleteOffsets(ctx context.Context, group string, partitions []metadata.TopicPartition) error {
	if len(partitions) == 0 {
		return nil
	}
	if err := s.client.HDel(ctx, groupOffsetsKey(group), offsetFields(partitions)...).Err(); err != nil {
		return fmt.Errorf("deleting offsets of group %s: %w", group, err)
	}
	return nil
}

// offsetFields returns the fields of partitions, each once.
func offsetFields(partitions []metadata.TopicPartition) []string {
	fields := make([]string, 0, len(partitions))
	for _, tp := range partitions {
		fields = append(fields, offsetField(tp))
	}
	slices.Sort(fields)
	return slices.Compact(fields)
}

// writeGroup runs a group write script whose reply starts {1, created} on
// success, in one round trip with the SADD that lists the group (when
// list). When the script created the group it adds the name again, after
// the script: a DeleteGroup that removed the name before it then cannot
// hide the group.
func (s *Store) writeGroup(ctx context.Context, group string, list bool, sc *redis.Script, keys []string, args ...any) ([]int64, error) {
	var pre func(redis.Pipeliner)
	if list {
		pre = func(p redis.Pipeliner) { p.SAdd(ctx, groupNamesKey(), group) }
	}
	cmd, err := s.pipelineScript(ctx, pre, sc, keys, args...)
	if err != nil {
		return nil, err
	}
	res, err := cmd.Int64Slice()
	if err != nil {
		return nil, err
	}
	if len(res) < 2 {
		return nil, fmt.Errorf("%w: %v from a group script", errBadReply, res)
	}
	if list && res[0] == 1 && res[1] == 1 {
		if err := s.client.SAdd(ctx, groupNamesKey(), group).Err(); err != nil {
			return nil, fmt.Errorf("listing the group: %w", err)
		}
	}
	return res, nil
}

// pipelineScript sends the commands pre queues and sc in one pipeline: one
// round trip. If the server lost its script cache it sends them again with
// EVAL; pre must be idempotent.
func (s *Store) pipelineScript(ctx context.Context, pre func(redis.Pipeliner), sc *redis.Script, keys []string, args ...any) (*redis.Cmd, error) {
	run := func(eval func(context.Context, redis.Scripter, []string, ...any) *redis.Cmd) (*redis.Cmd, error) {
		var cmd *redis.Cmd
		_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			if pre != nil {
				pre(p)
			}
			cmd = eval(ctx, p, keys, args...)
			return nil
		})
		return cmd, err
	}
	cmd, err := run(sc.EvalSha)
	if err != nil && redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
		cmd, err = run(sc.Eval)
	}
	return cmd, err
}
