package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
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

// The bucket's record holds the store's commit counts: a single number for
// a store of one shard (named ""), else one "<shard> <count>" line per
// shard, so that a sharded store that lost writes on one shard is caught
// even while the others went on counting.

// CheckStoreRollback compares the store's commit counts with the counts the
// bucket records. Agents run it at start; while they run, the store refuses
// commits itself once a count falls below one it has seen. A store that
// cannot count commits passes, and so does a shard the store no longer has
// (its slots moved).
func CheckStoreRollback(ctx context.Context, store metadata.Log, b bucket.Bucket) error {
	cc, ok := store.(metadata.CommitCounter)
	if !ok {
		return nil
	}
	recorded, err := readCommitCounts(ctx, b)
	if err != nil {
		return err
	}
	have, err := cc.CommitCounts(ctx)
	if err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(recorded)) {
		n, ok := have[name]
		if ok && n < recorded[name] {
			return fmt.Errorf("%w: it counts %d commits%s but the bucket records that %d were made (%s); "+
				"restore the store from a newer copy, or remove %s from the bucket to accept the loss",
				ErrStoreWentBack, n, shardSuffix(name), recorded[name], tiering.CommitCountKey, tiering.CommitCountKey)
		}
	}
	return nil
}

func shardSuffix(name string) string {
	if name == "" {
		return ""
	}
	return " on shard " + name
}

func readCommitCounts(ctx context.Context, b bucket.Bucket) (map[string]int64, error) {
	rc, err := b.GetRange(ctx, tiering.CommitCountKey, 0, -1)
	if errors.Is(err, bucket.ErrNotFound) {
		return map[string]int64{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", tiering.CommitCountKey, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", tiering.CommitCountKey, err)
	}
	counts, err := parseCommitCounts(string(data))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", tiering.CommitCountKey, err)
	}
	return counts, nil
}

// parseCommitCounts reads a record that formatCommitCounts wrote.
func parseCommitCounts(data string) (map[string]int64, error) {
	counts := map[string]int64{}
	for line := range strings.Lines(data) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		name := ""
		if len(f) == 2 {
			name = f[0]
		}
		n, err := strconv.ParseInt(f[len(f)-1], 10, 64)
		if err != nil || len(f) > 2 {
			return nil, fmt.Errorf("%q is not a count", line)
		}
		counts[name] = n
	}
	return counts, nil
}

func formatCommitCounts(counts map[string]int64) string {
	if n, ok := counts[""]; ok && len(counts) == 1 {
		return strconv.FormatInt(n, 10)
	}
	var sb strings.Builder
	for _, name := range slices.Sorted(maps.Keys(counts)) {
		fmt.Fprintf(&sb, "%s %d\n", name, counts[name])
	}
	return sb.String()
}

// recordCommitCount copies the store's commit counts to the bucket every
// interval while they grow, until ctx ends. The record is what a restarted
// agent checks the store against. Concurrent agents may overwrite each
// other with slightly older counts: that only narrows what is detected.
func recordCommitCount(ctx context.Context, cc metadata.CommitCounter, b bucket.Bucket, every time.Duration, log *slog.Logger) {
	written := map[string]int64{}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		counts, err := cc.CommitCounts(ctx)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("reading the commit count", "err", err)
			}
			continue
		}
		if !grew(log, written, counts) {
			continue
		}
		commitCountRecords.Add(ctx, 1)
		if err := b.Upload(ctx, tiering.CommitCountKey, []byte(formatCommitCounts(counts))); err != nil {
			if ctx.Err() == nil {
				log.Warn("recording the commit count", "err", err)
			}
			continue
		}
		written = counts
	}
}

// grew reports whether counts should replace the written record: some
// count is higher, and none went back. A count that went back is
// logged and never recorded.
func grew(log *slog.Logger, written, counts map[string]int64) bool {
	higher := false
	for name, n := range counts {
		w := written[name]
		if n < w {
			log.Error("the metadata store went back in time: it lost acknowledged writes; commits are refused",
				"count", n, "seen", w, "shard", name)
			return false
		}
		higher = higher || n > w
	}
	return higher
}
