package segment

import (
	"errors"
	"fmt"
)

var (
	// ErrCorrupt is returned when bytes do not decode as what they claim to
	// be: a bad magic, a checksum mismatch, a length that points outside the
	// data, or an index that contradicts itself. Callers must not use any part
	// of a corrupt object or batch.
	ErrCorrupt = errors.New("corrupt data")

	// ErrTruncated is returned when a batch or object ends before its own
	// length says it should. It wraps ErrCorrupt, so checking for ErrCorrupt
	// covers it.
	ErrTruncated = fmt.Errorf("%w: truncated", ErrCorrupt)

	// ErrUnsupportedVersion is returned by ReadFooter and Verify for an object
	// written by a newer Sluice, whose layout this reader does not know. See
	// the version policy in doc.go.
	ErrUnsupportedVersion = errors.New("unsupported object format version")

	// ErrOldMessageFormat is returned by ParseBatch and Batches for a Kafka
	// message set of magic 0 or 1. Sluice stores only v2 record batches; the
	// agent answers such produce requests with UNSUPPORTED_FOR_MESSAGE_FORMAT.
	ErrOldMessageFormat = errors.New("kafka message format older than v2 (magic 0 or 1)")

	// ErrSectionReopened is returned by Writer.WriteBatch when a batch arrives
	// for a section that was already closed by a batch of another section.
	// The writer keeps each partition's batches contiguous.
	ErrSectionReopened = errors.New("section written again after another section")

	// ErrInvalidBatch is returned by Writer.WriteBatch for arguments that
	// cannot be written: an empty batch, a topic name that is too long,
	// offsets that go backwards in a compacted segment, or a writer made with
	// an unknown Kind.
	ErrInvalidBatch = errors.New("invalid batch for segment")

	// ErrClosed is returned by Writer methods after Close.
	ErrClosed = errors.New("segment writer closed")
)
