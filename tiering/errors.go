package tiering

import "errors"

var (
	// ErrBadURL is returned by OpenBucket for a bucket URL it cannot use;
	// the message says what to change.
	ErrBadURL = errors.New("bad bucket URL")

	// ErrNotSluiceKey is returned by KeyTime for a key that Sluice did not
	// make, or made in a layout this version does not know.
	ErrNotSluiceKey = errors.New("not a sluice object key")

	// ErrShortRead is returned by Reader.Read when the object ends before
	// the requested range does: the index and the object disagree.
	ErrShortRead = errors.New("object shorter than the requested range")
)
