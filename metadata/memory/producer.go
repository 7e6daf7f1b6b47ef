package memory

import (
	"math"

	"github.com/sluicehq/sluice/metadata"
)

// recentBatches is how many batches per (producer, partition) are
// remembered for duplicates: Kafka's max.in.flight.requests.per.connection
// with idempotence on is at most 5.
const recentBatches = 5

// seqRange is one accepted batch of an idempotent producer.
type seqRange struct {
	First, Last int32 // sequences, inclusive; Last may have wrapped past First
	Base        int64 // first offset given to the batch
}

// producerState is what a partition remembers of one producer id.
type producerState struct {
	Epoch  int16
	Recent []seqRange // oldest first, at most recentBatches
}

// verdict is the fate of one batch of an idempotent producer.
type verdict struct {
	dup  bool
	base int64 // the duplicate's original first offset
	err  error // ErrOutOfOrderSequence or ErrInvalidProducerEpoch
}

// check decides a batch's fate against ps, which is nil for a producer the
// partition has not seen. It follows Kafka 3.x ProducerAppendInfo, except
// that an unknown producer must start at sequence 0: no producer state
// expires here, so an unknown producer is a new one.
func check(ps *producerState, b metadata.CommitBatch) verdict {
	last := lastSequence(b.BaseSequence, b.Records)
	switch {
	case ps == nil || b.ProducerEpoch > ps.Epoch:
		if b.BaseSequence != 0 {
			return verdict{err: metadata.ErrOutOfOrderSequence}
		}
		return verdict{}
	case b.ProducerEpoch < ps.Epoch:
		return verdict{err: metadata.ErrInvalidProducerEpoch}
	}
	for _, r := range ps.Recent {
		if r.First == b.BaseSequence && r.Last == last {
			return verdict{dup: true, base: r.Base}
		}
	}
	if len(ps.Recent) > 0 && b.BaseSequence != nextSequence(ps.Recent[len(ps.Recent)-1].Last) {
		return verdict{err: metadata.ErrOutOfOrderSequence}
	}
	return verdict{}
}

// accepted returns the producer's state after b was accepted at base: a
// newer epoch forgets the older epoch's batches.
func accepted(ps *producerState, b metadata.CommitBatch, base int64) *producerState {
	next := &producerState{Epoch: b.ProducerEpoch}
	if ps != nil && ps.Epoch == b.ProducerEpoch {
		next.Recent = ps.Recent[max(0, len(ps.Recent)-recentBatches+1):]
	}
	next.Recent = append(append([]seqRange(nil), next.Recent...),
		seqRange{First: b.BaseSequence, Last: lastSequence(b.BaseSequence, b.Records), Base: base})
	return next
}

// lastSequence is the sequence of a batch's last record; sequences wrap
// from MaxInt32 to 0 (Kafka DefaultRecordBatch.incrementSequence).
func lastSequence(base, records int32) int32 {
	inc := records - 1
	if base > math.MaxInt32-inc {
		return inc - (math.MaxInt32 - base) - 1
	}
	return base + inc
}

// nextSequence is the sequence expected after last.
func nextSequence(last int32) int32 {
	if last == math.MaxInt32 {
		return 0
	}
	return last + 1
}
