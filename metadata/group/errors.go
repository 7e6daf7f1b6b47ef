package group

import "errors"

// Errors a group operation answers with. Each is a Kafka error code to the
// agent (agent/kerr.go maps them); callers use errors.Is.
var (
	// ErrUnknownMemberID is returned for a member id the group does not
	// know: never joined, removed by its session timeout, or gone with the
	// group.
	ErrUnknownMemberID = errors.New("unknown member id")
	// ErrMemberIDRequired is returned by Join to a new dynamic member of
	// JoinGroup v4 and later, with the member id it must join again with.
	ErrMemberIDRequired = errors.New("member id required")
	// ErrIllegalGeneration is returned when a request names a generation
	// that is not the group's: the member missed a rebalance.
	ErrIllegalGeneration = errors.New("illegal generation")
	// ErrRebalanceInProgress tells a member to join again: the group is
	// rebalancing.
	ErrRebalanceInProgress = errors.New("rebalance in progress")
	// ErrFencedInstanceID is returned to a static member whose
	// group.instance.id now belongs to a newer member id.
	ErrFencedInstanceID = errors.New("fenced instance id")
	// ErrInconsistentProtocol is returned by Join when the member's protocol
	// type differs from the group's or it shares no protocol with the
	// other members, and by Sync when its protocol is not the chosen one.
	ErrInconsistentProtocol = errors.New("inconsistent group protocol")
	// ErrInvalidSessionTimeout is returned by Join for a session timeout
	// outside the configured bounds.
	ErrInvalidSessionTimeout = errors.New("invalid session timeout")
	// ErrNotCoordinator is what a parked request is answered with when its
	// coordinator lost the group: another coordinator saved a newer
	// generation, or this one stopped.
	ErrNotCoordinator = errors.New("not the group coordinator")
	// ErrCoordinatorUnavailable is what a request is answered with when the
	// coordinator cannot reach the group's stored state.
	ErrCoordinatorUnavailable = errors.New("group coordinator unavailable")
)
