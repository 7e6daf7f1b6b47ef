package compaction

import "errors"

var (
	// ErrMismatch is returned by Build when the sources' bytes do not hold
	// exactly the offsets the index gives them, or the sources do not
	// follow each other. Nothing is uploaded; the index and the bucket
	// disagree and need a person.
	ErrMismatch = errors.New("source bytes do not match their index entries")
	// ErrNoSources is returned by Build for an empty source list.
	ErrNoSources = errors.New("nothing to compact")
)
