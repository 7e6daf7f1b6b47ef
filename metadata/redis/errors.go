package redis

import "errors"

var (
	// ErrNotDurable is returned by CheckDurability when the server may lose
	// writes it has acknowledged: no append-only file synced on every write,
	// and no replica that confirms writes.
	ErrNotDurable = errors.New("redis may lose acknowledged writes")
	// errInvalidCommit is returned by Commit for a commit no agent should
	// make; nothing is committed.
	errInvalidCommit = errors.New("invalid commit")
	// errBadReply is returned when the server's answer does not have the
	// shape the store wrote: another program, or another version, shares
	// the keys.
	errBadReply = errors.New("unexpected reply from redis")
)
