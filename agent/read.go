package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/metadata"
	"github.com/sluicehq/sluice/tiering/bucket"
	"github.com/sluicehq/sluice/tiering/segment"
)

// read returns whole batches of p from the one holding offset, up to limit
// bytes (at least one batch when first is set), each with its assigned
// base offset written in. Once it holds a batch it reads no entry after
// stop. The bytes are copies: cached object ranges are shared and never
// written to.
func (v *logView) read(ctx context.Context, p metadata.Partition, offset, hw int64, limit int, first bool, stop time.Time) ([]byte, error) {
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
			data, err := v.reader.Read(ctx, e.Object, e.Pos, e.Len)
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
	for b, err := range segment.Batches(data) {
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
