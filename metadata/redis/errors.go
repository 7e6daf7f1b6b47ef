package redis

import "errors"

var (
	// ErrNotDurable is returned by CheckDurability when the server may lose
	// writes it has acknowledged: no append-only file synced on every write,
	// and no replica that confirms writes.
	ErrNotDurable = errors.New("redis may lose acknowledged writes")
	// ErrNotReplicated is returned by Commit when the server's durability
	// rests on a replica (see CheckDurability) and none confirmed the
	// commit in time. The commit may have been applied on the primary; a
	// retry of the same idempotent batches comes back as duplicates.
	ErrNotReplicated = errors.New("no replica confirmed the commit")
	// ErrFormat is returned by Open when Redis holds Sluice metadata in a
	// format this build does not read (see formatVersion).
	ErrFormat = errors.New("metadata format not supported")
	// errInvalidCommit is returned by Commit for a commit no agent should
	// make; nothing is committed.
	errInvalidCommit = errors.New("invalid commit")
	// errBadReply is returned when the server's answer does not have the
	// shape the store wrote: another program, or another version, shares
	// the keys.
	errBadReply = errors.New("unexpected reply from redis")
)
