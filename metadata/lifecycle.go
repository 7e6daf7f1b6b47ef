package metadata

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Lifecycle is an optional capability of a Log: what compaction, retention
// and cleanup need to keep each partition's index bounded and the bucket
// free of objects that nothing reads any more. A store that has it is also
// an OrphanLog; cleanup keeps one record of objects that may be garbage,
// whether their commit failed or their entries were replaced or trimmed.
//
// Offsets, high watermarks and producer state never change here, and an
// entry is never edited in place: ReplaceEntries swaps whole entries for
// others covering exactly the same offsets, and Trim drops whole entries
// below the log start. The caller records every object it is about to stop
// referencing with RecordOrphan first, and deletes it only after a grace
// period longer than any reader keeps a cached entry, and only once
// Referenced says no partition names it any more.
//
// All methods are linearizable, like the Log's.
type Lifecycle interface {
	// ReplaceEntries atomically replaces old, consecutive entries of p as
	// Index returned them, with replacement: consecutive entries that must
	// cover exactly their offsets, and whose max timestamps are those of the
	// batches they hold, so that time lookups stay right. It is a
	// compare-and-set: unless every entry of old is still
	// in the index exactly, it changes nothing and returns ErrConflict (a
	// concurrent compaction or trim won). It returns ErrUnknownTopic when p
	// does not exist. As with Commit, an error other than these after a
	// timeout leaves it unknown whether the replacement happened.
	ReplaceEntries(ctx context.Context, p Partition, old, replacement []IndexEntry) error
	// Trim raises p's log-start offset to logStart and deletes the entries
	// wholly below it, atomically. logStart must be the BaseOffset of an
	// entry of p or its high watermark, otherwise it changes nothing and
	// returns ErrConflict (the index changed since the caller read it). A
	// logStart at or below the current log start changes nothing and
	// returns nil: the log start never goes back. It returns ErrUnknownTopic
	// when p does not exist.
	Trim(ctx context.Context, p Partition, logStart int64) error
	// Referenced reports whether an index entry of p names object. A
	// partition that does not exist names nothing. Cleanup asks it for
	// every partition of every object let go, so its cost must not grow
	// with the index: a long retention holds millions of entries.
	Referenced(ctx context.Context, p Partition, object string) (bool, error)
	// OrphansBefore returns up to limit keys of the OrphanLog recorded
	// before t, oldest first; an empty slice if none.
	OrphansBefore(ctx context.Context, t time.Time, limit int) ([]string, error)
	// Lease takes the lease called name for holder, or renews it if holder
	// already has it, until ttl from now, and reports true; it reports false
	// while another holder has it. Leases only spread work across agents:
	// correctness never depends on them, since two holders at once (a lease
	// that expired mid-work) are made harmless by ReplaceEntries and Trim.
	Lease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
}

// CheckReplacement says why replacement cannot replace old: both must be
// non-empty and consecutive, and replacement must cover exactly the offsets
// of old, with usable object keys and byte ranges. Backends call it before
// ReplaceEntries changes anything; a failure is a caller bug.
func CheckReplacement(old, replacement []IndexEntry) error {
	if len(old) == 0 || len(replacement) == 0 {
		return fmt.Errorf("replacing index entries: %d entries with %d", len(old), len(replacement))
	}
	if err := checkConsecutive(old); err != nil {
		return fmt.Errorf("replacing index entries: %w", err)
	}
	if err := checkConsecutive(replacement); err != nil {
		return fmt.Errorf("replacing index entries: replacement: %w", err)
	}
	first, last := replacement[0], replacement[len(replacement)-1]
	if first.BaseOffset != old[0].BaseOffset || last.LastOffset != old[len(old)-1].LastOffset {
		return fmt.Errorf("replacing index entries %d-%d with offsets %d-%d",
			old[0].BaseOffset, old[len(old)-1].LastOffset, first.BaseOffset, last.LastOffset)
	}
	for _, r := range replacement {
		switch {
		case r.LastOffset < r.BaseOffset:
			return fmt.Errorf("replacing index entries: replacement holds offsets %d-%d", r.BaseOffset, r.LastOffset)
		case r.Object == "" || strings.ContainsAny(r.Object, "\n\r"):
			return fmt.Errorf("replacing index entries: object key %q is empty or holds a line break", r.Object)
		case r.Pos < 0 || r.Len < 0:
			return fmt.Errorf("replacing index entries: byte range %d+%d", r.Pos, r.Len)
		}
	}
	return nil
}

// checkConsecutive says which entry of es does not follow the one before.
func checkConsecutive(es []IndexEntry) error {
	for i := 1; i < len(es); i++ {
		if es[i].BaseOffset != es[i-1].LastOffset+1 {
			return fmt.Errorf("entry at %d does not follow %d", es[i].BaseOffset, es[i-1].LastOffset)
		}
	}
	return nil
}
