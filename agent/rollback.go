package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/metadata"
	"github.com/sluicehq/sluice/tiering"
	"github.com/sluicehq/sluice/tiering/bucket"
)

// ErrStoreWentBack is returned by CheckStoreRollback when the metadata
// store counts fewer commits than the bucket records were made: it lost
// acknowledged writes, and offsets it hands out may already be taken.
var ErrStoreWentBack = errors.New("the metadata store has lost acknowledged writes")

// CheckStoreRollback compares the store's commit count with the count the
// bucket records. Agents run it at start; while they run, the store refuses
// commits itself once its count falls below one it has seen. A store that
// cannot count commits passes.
func CheckStoreRollback(ctx context.Context, store metadata.Log, b bucket.Bucket) error {
	cc, ok := store.(metadata.CommitCounter)
	if !ok {
		return nil
	}
	recorded, err := readCommitCount(ctx, b)
	if err != nil {
		return err
	}
	have, err := cc.CommitCount(ctx)
	if err != nil {
		return err
	}
	if have < recorded {
		return fmt.Errorf("%w: it counts %d commits but the bucket records that %d were made (%s); "+
			"restore the store from a newer copy, or remove %s from the bucket to accept the loss",
			ErrStoreWentBack, have, recorded, tiering.CommitCountKey, tiering.CommitCountKey)
	}
	return nil
}

func readCommitCount(ctx context.Context, b bucket.Bucket) (int64, error) {
	rc, err := b.GetRange(ctx, tiering.CommitCountKey, 0, -1)
	if errors.Is(err, bucket.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading %s: %w", tiering.CommitCountKey, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 64))
	if err != nil {
		return 0, fmt.Errorf("reading %s: %w", tiering.CommitCountKey, err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("reading %s: %q is not a count: %w", tiering.CommitCountKey, data, err)
	}
	return n, nil
}

// recordCommitCount copies the store's commit count to the bucket every
// interval while it grows, until ctx ends. The record is what a restarted
// agent checks the store against. Concurrent agents may overwrite each
// other with slightly older counts: that only narrows what is detected.
func recordCommitCount(ctx context.Context, cc metadata.CommitCounter, b bucket.Bucket, every time.Duration, log *slog.Logger) {
	var written int64
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := cc.CommitCount(ctx)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				log.Warn("reading the commit count", "err", err)
			}
			continue
		case n < written:
			log.Error("the metadata store went back in time: it lost acknowledged writes; commits are refused",
				"count", n, "seen", written)
			continue
		case n == written:
			continue
		}
		commitCountRecords.Add(ctx, 1)
		if err := b.Upload(ctx, tiering.CommitCountKey, []byte(strconv.FormatInt(n, 10))); err != nil {
			if ctx.Err() == nil {
				log.Warn("recording the commit count", "err", err)
			}
			continue
		}
		written = n
	}
}
