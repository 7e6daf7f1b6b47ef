// Package retention decides how far a partition's log start may advance
// under Kafka's retention.ms and retention.bytes. It is pure: the agent
// feeds it the partition's index entries and moves the log start in the
// metadata store; cleanup deletes the objects nothing references any more.
//
// Like Kafka, which deletes whole segments, it deletes whole index entries
// from the oldest on, and stops at the first one it must keep: the new log
// start is always an entry's base offset, or the high watermark when every
// entry goes.
package retention

import "time"

// Entry is what retention needs of one index entry.
type Entry struct {
	BaseOffset int64
	Len        int64
	// MaxTimestamp is the entry's largest batch timestamp, in Unix
	// milliseconds; negative when the batches carry none.
	MaxTimestamp int64
	// Created is when the entry's object was written; it stands in for
	// MaxTimestamp when that is negative, as Kafka falls back to a
	// segment's modification time.
	Created time.Time
}

// Policy is a topic's retention.
type Policy struct {
	// Age is retention.ms; negative keeps data for ever.
	Age time.Duration
	// Bytes is retention.bytes per partition; negative for no limit.
	Bytes int64
}

// LogStart returns the log start that p allows at now for a partition
// whose entries, in offset order from the current log start, are es and
// whose high watermark is hw. It never returns less than the first entry's
// base offset; with nothing to delete it returns exactly that (or hw when
// es is empty).
func LogStart(es []Entry, p Policy, now time.Time, hw int64) int64 {
	var size int64
	for _, e := range es {
		size += e.Len
	}
	for i, e := range es {
		if !p.expired(e, now) && !(p.Bytes >= 0 && size-e.Len >= p.Bytes) {
			return es[i].BaseOffset
		}
		size -= e.Len
	}
	return hw
}

// expired reports whether e is past retention.ms at now.
func (p Policy) expired(e Entry, now time.Time) bool {
	if p.Age < 0 {
		return false
	}
	ts := e.MaxTimestamp
	if ts < 0 {
		ts = e.Created.UnixMilli()
	}
	return ts < now.Add(-p.Age).UnixMilli()
}
