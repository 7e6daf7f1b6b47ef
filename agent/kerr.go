package agent

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/sluicehq/sluice/agent/produce"
	"github.com/sluicehq/sluice/metadata"
	"github.com/sluicehq/sluice/metadata/group"
	"github.com/sluicehq/sluice/tiering/segment"
)

// errCode turns a Go error into the Kafka error code a client acts on. It is
// the only place that does: handlers call it and never pick codes for Go
// errors themselves.
//
// Errors from the backends that are not sentinels are I/O failures (Redis or
// the bucket unreachable) and map to KAFKA_STORAGE_ERROR, which every client
// retries: a transient outage must never look final to a producer.
func errCode(err error) int16 {
	var ke *kerr.Error
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ke):
		return ke.Code
	case errors.Is(err, group.ErrUnknownMemberID):
		return kerr.UnknownMemberID.Code
	case errors.Is(err, group.ErrMemberIDRequired):
		return kerr.MemberIDRequired.Code
	case errors.Is(err, group.ErrIllegalGeneration):
		return kerr.IllegalGeneration.Code
	case errors.Is(err, group.ErrRebalanceInProgress):
		return kerr.RebalanceInProgress.Code
	case errors.Is(err, group.ErrFencedInstanceID):
		return kerr.FencedInstanceID.Code
	case errors.Is(err, group.ErrInconsistentProtocol):
		return kerr.InconsistentGroupProtocol.Code
	case errors.Is(err, group.ErrInvalidSessionTimeout):
		return kerr.InvalidSessionTimeout.Code
	case errors.Is(err, group.ErrNotCoordinator), errors.Is(err, metadata.ErrGroupFenced):
		// Another agent saved the group since: the client finds the
		// coordinator again.
		return kerr.NotCoordinator.Code
	case errors.Is(err, group.ErrCoordinatorUnavailable):
		return kerr.CoordinatorNotAvailable.Code
	case errors.Is(err, metadata.ErrUnknownGroup):
		return kerr.GroupIDNotFound.Code
	case errors.Is(err, metadata.ErrGroupNotEmpty):
		return kerr.NonEmptyGroup.Code
	case errors.Is(err, metadata.ErrUnknownTopic):
		return kerr.UnknownTopicOrPartition.Code
	case errors.Is(err, metadata.ErrTopicExists):
		return kerr.TopicAlreadyExists.Code
	case errors.Is(err, metadata.ErrInvalidPartitions):
		return kerr.InvalidPartitions.Code
	case errors.Is(err, metadata.ErrOutOfOrderSequence):
		return kerr.OutOfOrderSequenceNumber.Code
	case errors.Is(err, metadata.ErrInvalidProducerEpoch):
		return kerr.InvalidProducerEpoch.Code
	case errors.Is(err, produce.ErrClosed):
		// The agent is draining: the client refreshes metadata and goes
		// to another agent.
		return kerr.NotLeaderForPartition.Code
	case errors.Is(err, produce.ErrBufferFull), errors.Is(err, context.DeadlineExceeded):
		return kerr.RequestTimedOut.Code
	case errors.Is(err, produce.ErrTooLarge):
		return kerr.MessageTooLarge.Code
	case errors.Is(err, segment.ErrOldMessageFormat):
		return kerr.UnsupportedForMessageFormat.Code
	case errors.Is(err, segment.ErrCorrupt):
		return kerr.CorruptMessage.Code
	default:
		return kerr.KafkaStorageError.Code
	}
}
