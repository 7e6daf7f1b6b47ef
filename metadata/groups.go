package metadata

import (
	"context"
	"time"
)

// NoGeneration is the generation of a group that has no saved state, and
// the generation a simple (non-member) offset commit carries. Any negative
// generation is read as NoGeneration.
const NoGeneration int32 = -1

// GroupStateEmpty is the state name ListGroups reports for a group that has
// committed offsets but no saved state (a group used only for simple
// commits). It is Kafka's name for a group without members.
const GroupStateEmpty = "Empty"

// GroupProtocol is one protocol a member can use, with the member's opaque
// metadata for it (for "consumer", its subscription).
type GroupProtocol struct {
	Name     string
	Metadata []byte
}

// GroupMember is one member of a consumer group as its coordinator last
// saved it. Byte fields are opaque to the store and come back exactly as
// saved; nil and empty may come back as each other.
type GroupMember struct {
	MemberID string
	// InstanceID is the group.instance.id of a static member, nil for a
	// dynamic one.
	InstanceID       *string
	ClientID         string
	ClientHost       string
	SessionTimeout   time.Duration // kept to the millisecond
	RebalanceTimeout time.Duration // kept to the millisecond
	// Protocols are the protocols the member offered, in its order of
	// preference. The coordinator may keep only the chosen one.
	Protocols []GroupProtocol
	// Assignment is what the leader assigned the member in this generation.
	Assignment []byte
}

// GroupState is a consumer group's coordinator state: everything a new
// coordinator needs to carry on where the old one stopped.
type GroupState struct {
	Group string
	// ProtocolType is the members' protocol type, e.g. "consumer"; empty
	// for a group that never had members.
	ProtocolType string
	// Protocol is the chosen protocol's name, empty while none is chosen.
	Protocol   string
	Generation int32 // 0 or more; see GroupStore
	Leader     string
	// State is the Kafka state name ("Empty", "PreparingRebalance",
	// "CompletingRebalance", "Stable", ...). The store keeps it for
	// DescribeGroups and ListGroups and does not interpret it: the store
	// judges a group empty by its Members alone.
	State   string
	Members []GroupMember
	// EmptySince is when the group last lost its last member, for
	// offsets.retention.minutes; zero while it has members. Kept to the
	// millisecond; a zero time stays zero.
	EmptySince time.Time
}

// GroupSummary is one group in ListGroups.
type GroupSummary struct {
	Group        string
	ProtocolType string // "" for a group with offsets only
	State        string // GroupStateEmpty for a group with offsets only
}

// GroupStore keeps consumer groups' coordinator state.
//
// A group's state is fenced by its generation: every save names the
// generation it read, so a coordinator that lost the group (a failover, a
// network split) cannot overwrite what its successor saved, and learns it
// was replaced from ErrGroupFenced. Members and assignments change only with
// a new generation, so that is the fence that matters; two coordinators at
// the same generation can both save, and the last save wins.
//
// All methods are linearizable: once a call returns, every later call on
// any agent sees its effect. A group's state and its committed offsets
// change together atomically where a method says so.
type GroupStore interface {
	// LoadGroup returns the group's state, or ErrUnknownGroup if none was
	// ever saved or it was deleted. Committed offsets alone are no state.
	LoadGroup(ctx context.Context, group string) (GroupState, error)
	// SaveGroup replaces s.Group's state with s if the stored generation is
	// expectGeneration (NoGeneration: there must be no stored state), and
	// otherwise returns ErrGroupFenced and changes nothing. s.Generation
	// must be at least expectGeneration and not negative, or SaveGroup
	// fails without saving: a generation never goes back. It is one atomic
	// compare-and-set; after a timeout it may or may not have happened, and
	// LoadGroup tells which.
	SaveGroup(ctx context.Context, s GroupState, expectGeneration int32) error
	// DeleteGroup atomically removes the group's state and all its
	// committed offsets. It returns ErrUnknownGroup if there is neither,
	// and ErrGroupNotEmpty, changing nothing, if the stored state has
	// members: the store checks this, so a delete cannot race a join saved
	// by another coordinator. After it, the group's generation is
	// NoGeneration again.
	DeleteGroup(ctx context.Context, group string) error
	// ListGroups returns every group with saved state or committed offsets,
	// sorted by group id; an empty slice if none. It is a snapshot per
	// group, not of all groups at one instant.
	ListGroups(ctx context.Context) ([]GroupSummary, error)
}

// TopicPartition names a partition by topic name, as Kafka clients do in
// offset commits and fetches.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// CommittedOffset is a group's committed position in one partition.
type CommittedOffset struct {
	Topic     string
	Partition int32
	// Offset is the next offset the group will consume.
	Offset int64
	// LeaderEpoch is the client's leader epoch of the committed record, -1
	// if unknown.
	LeaderEpoch int32
	// Metadata is the client's opaque string; nil and "" are kept apart.
	Metadata *string
	// CommitTime is when the commit was made, kept to the millisecond.
	CommitTime time.Time
}

// OffsetStore keeps consumer groups' committed offsets.
//
// Offsets are keyed by topic NAME and partition, not topic ID, because that
// is what Kafka clients commit: a topic deleted and created again under the
// same name keeps its groups' offsets (as in Kafka before KIP-516 ids
// reached the group protocol), and deleting a topic does not delete them.
//
// All methods are linearizable, and each call is atomic: it all happens or
// none of it does.
type OffsetStore interface {
	// CommitOffsets stores offsets for group, replacing earlier commits of
	// the same partitions, if generation passes the fence:
	//   - generation NoGeneration (any negative) is a simple commit from
	//     outside the group protocol: allowed when the group has no saved
	//     state, or its saved state has no members;
	//   - otherwise the saved state's generation must equal generation.
	// On a refusal it returns ErrGroupFenced and stores nothing. The fence
	// and the write are one atomic step, so a member of a stale generation
	// can never commit once a coordinator, on any agent, saved a newer one.
	// The store checks generations only: that the member belongs to the
	// group is the coordinator's check. A simple commit to an unknown group
	// creates it, with offsets only. After a timeout the commit may or may
	// not have happened.
	CommitOffsets(ctx context.Context, group string, generation int32, offsets []CommittedOffset) error
	// FetchOffsets returns the group's committed offsets of partitions, or
	// of every partition if partitions is nil, sorted by topic then
	// partition. A partition without a commit is absent from the result
	// (the agent answers offset -1 for it). An unknown group returns an
	// empty slice and no error.
	FetchOffsets(ctx context.Context, group string, partitions []TopicPartition) ([]CommittedOffset, error)
	// DeleteOffsets removes the group's committed offsets of partitions; an
	// empty or nil partitions removes nothing. Partitions without a commit,
	// and an unknown group, are not errors. Whether a partition may be
	// deleted (Kafka refuses topics an active group subscribes to) is the
	// coordinator's check.
	DeleteOffsets(ctx context.Context, group string, partitions []TopicPartition) error
}
