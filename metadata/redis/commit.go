package redis

import (
	"context"
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/metadata"
)

// codeErrs maps commitScript's batch codes to results.
var codeErrs = map[int64]error{
	2: metadata.ErrOutOfOrderSequence,
	3: metadata.ErrInvalidProducerEpoch,
	4: metadata.ErrUnknownTopic,
}

// group is the batches of one partition, by position in the commit.
type group struct {
	p     metadata.Partition
	batch []int
}

// Commit assigns offsets to c's batches and indexes them in one round trip:
// one EVALSHA of commitScript (EVAL if the server lost its script cache).
// After a timeout the commit may or may not have happened; a retry of the
// same idempotent batches then comes back as duplicates.
func (s *Store) Commit(ctx context.Context, c metadata.Commit) ([]metadata.BatchResult, error) {
	if err := validateCommit(c); err != nil {
		return nil, err
	}
	groups := groupBatches(c.Batches)
	keys, args := commitArgs(s.epoch, c, groups)
	keys = append(keys, commitCountKey())
	args = append(args, s.seen.Load())
	res, err := commitScript.Run(ctx, s.client, keys, args...).Int64Slice()
	if err != nil {
		return nil, fmt.Errorf("committing %s: %w", c.Object, err)
	}
	if len(res) == 1 && res[0] == 0 {
		return nil, fmt.Errorf("committing %s: %w", c.Object, metadata.ErrFenced)
	}
	rs, err := decodeResults(res[:len(res)-1], groups, len(c.Batches))
	if err != nil {
		return nil, fmt.Errorf("committing %s: %w", c.Object, err)
	}
	s.observe(res[len(res)-1])
	return rs, nil
}

// validateCommit refuses commits that would corrupt the index rather than
// fail one batch: they are agent bugs, not client errors.
func validateCommit(c metadata.Commit) error {
	if c.Object == "" || strings.ContainsAny(c.Object, "\n\r") {
		return fmt.Errorf("%w: object key %q is empty or holds a line break", errInvalidCommit, c.Object)
	}
	for i, b := range c.Batches {
		if b.Records < 1 || b.Pos < 0 || b.Len < 0 {
			return fmt.Errorf("%w: batch %d has %d records at %d+%d", errInvalidCommit, i, b.Records, b.Pos, b.Len)
		}
	}
	return nil
}

// groupBatches groups batches by partition, in order of first appearance
// and keeping their order within a partition, so that each partition's keys
// are passed once even if a caller interleaves partitions.
func groupBatches(bs []metadata.CommitBatch) []group {
	var gs []group
	at := make(map[metadata.Partition]int)
	for i, b := range bs {
		g, ok := at[b.Partition]
		if !ok {
			g = len(gs)
			at[b.Partition] = g
			gs = append(gs, group{p: b.Partition})
		}
		gs[g].batch = append(gs[g].batch, i)
	}
	return gs
}

// commitArgs lays the commit out as commitScript's KEYS and ARGV.
func commitArgs(epoch string, c metadata.Commit, groups []group) ([]string, []any) {
	keys := make([]string, 0, 1+4*len(groups))
	keys = append(keys, epochKey())
	args := make([]any, 0, 4+2*len(groups)+7*len(c.Batches))
	args = append(args, epoch, c.Object, commitsChannel(), len(groups))
	for _, g := range groups {
		keys = append(keys, partitionKeys(g.p)...)
		args = append(args, partitionName(g.p), len(g.batch))
		for _, i := range g.batch {
			b := c.Batches[i]
			args = append(args, b.Pos, b.Len, b.Records, b.MaxTimestamp, b.ProducerID, b.ProducerEpoch, b.BaseSequence)
		}
	}
	return keys, args
}

// decodeResults maps commitScript's reply back to the commit's batch order.
func decodeResults(res []int64, groups []group, n int) ([]metadata.BatchResult, error) {
	want := 1 + len(groups) + 2*n
	if len(res) != want || res[0] != 1 {
		return nil, fmt.Errorf("%w: commit reply of %d values, want %d", errBadReply, len(res), want)
	}
	rs := make([]metadata.BatchResult, n)
	at := 1
	for _, g := range groups {
		logStart := res[at]
		at++
		for _, i := range g.batch {
			code, off := res[at], res[at+1]
			at += 2
			rs[i] = metadata.BatchResult{LogStart: logStart, Err: codeErrs[code]}
			switch code {
			case 0, 1:
				rs[i].BaseOffset, rs[i].Duplicate = off, code == 1
			case 4:
				rs[i].LogStart = 0
			}
		}
	}
	return rs, nil
}
