package memory

import "errors"

var (
	// ErrClosed is returned by every method after Close.
	ErrClosed = errors.New("metadata store closed")
	// ErrCorrupt is returned by Open when the log holds a damaged record
	// that is not its last one, or a record it cannot decode.
	ErrCorrupt = errors.New("metadata log corrupt")
	// errInvalidCommit is returned by Commit for a commit no agent should
	// make; nothing is committed.
	errInvalidCommit = errors.New("invalid commit")
)
