package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/metadata"
	"github.com/sluicehq/sluice/tiering/bucket"
	"github.com/sluicehq/sluice/tiering/cache"
	"github.com/sluicehq/sluice/tiering/segment"
)

// read returns whole batches of p from the one holding offset, up to limit
// bytes (at least one batch when first is set), each with its assigned
// base offset written in, reading object bytes through r. Once it holds a
// batch it reads no entry after stop. The bytes are copies: cached object
// ranges are shared and never written to.
func (v *logView) read(ctx context.Context, r byteReader, p metadata.Partition, offset, hw int64, limit int, first bool, stop time.Time) ([]byte, error) {
	var out []byte
	retried := false
	for offset < hw {
		entries, err := v.entries(ctx, p, offset)
		if err != nil {
			return out, fmt.Errorf("looking up index: %w", err)
		}
		if len(entries) == 0 || entries[0].BaseOffset > offset {
			if out != nil {
				return out, nil
			}
			return nil, errOffsetOutOfRange
		}
		for _, e := range entries {
			if e.BaseOffset >= hw {
				return out, nil
			}
			data, err := r.Read(ctx, e.Object, e.Pos, e.Len)
			if errors.Is(err, bucket.ErrNotFound) && !retried {
				// Compaction replaced the entry and cleanup deleted its
				// object: what was cached is stale, the index is not.
				retried = true
				v.forgetEntries(p)
				break
			}
			if err != nil {
				return out, fmt.Errorf("reading %s: %w", e.Object, err)
			}
			var full bool
			out, full, err = appendBatches(out, data, e.BaseOffset, offset, limit, first)
			if err != nil {
				return out, fmt.Errorf("reading %s at %d: %w", e.Object, e.Pos, err)
			}
			if full || (len(out) > 0 && !time.Now().Before(stop)) {
				return out, nil
			}
			offset = e.LastOffset + 1
		}
	}
	return out, nil
}

// plan appends to ks the object ranges a read of p from offset with limit
// will want: the entries from the one holding offset until they hold about
// limit bytes past offset (at least one), stopping at hw. It also returns
// those bytes. It guesses the bytes of the first entry before offset from
// its share of offsets; a short guess only makes the read GET the rest
// itself.
func (v *logView) plan(ctx context.Context, ks []cache.Key, p metadata.Partition, offset, hw int64, limit int) ([]cache.Key, int, error) {
	entries, err := v.entries(ctx, p, offset)
	if err != nil {
		return ks, 0, fmt.Errorf("looking up index: %w", err)
	}
	planned := 0
	for i, e := range entries {
		if e.BaseOffset >= hw || (i > 0 && planned >= limit) {
			break
		}
		ks = append(ks, cache.Key{Object: e.Object, Pos: e.Pos, Len: e.Len})
		n := e.Len
		if span := e.LastOffset - e.BaseOffset + 1; i == 0 && offset > e.BaseOffset && span > 0 {
			n = n * (e.LastOffset - offset + 1) / span
		}
		planned += int(n)
	}
	return ks, planned, nil
}

// appendBatches walks the batches of one index entry, whose first batch has
// offset base, and appends those ending at or after offset while they fit.
// It reports whether the limit was reached.
func appendBatches(out, data []byte, base, offset int64, limit int, first bool) ([]byte, bool, error) {
	full := false
	err := walkBatches(data, base, func(base int64, b segment.Batch) bool {
		if base+int64(b.LastOffsetDelta) < offset {
			return true
		}
		if len(out)+len(b.Raw) > limit && !(first && len(out) == 0) {
			full = true
			return false
		}
		start := len(out)
		out = append(out, b.Raw...)
		segment.SetBaseOffset(out[start:], base)
		return true
	})
	return out, full, err
}

// walkBatches calls fn with each batch of data and its offset, counting
// from base, while fn returns true.
func walkBatches(data []byte, base int64, fn func(base int64, b segment.Batch) bool) error {
	for b, err := range segment.StoredBatches(data) {
		if err != nil {
			return err
		}
		if !fn(base, b) {
			return nil
		}
		base += int64(b.LastOffsetDelta) + 1
	}
	return nil
}
