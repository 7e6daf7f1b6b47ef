package agent

import (
	"context"
	"errors"
	"maps"
	"testing"

	"github.com/sluicehq/sluice/metadata"
	"github.com/sluicehq/sluice/tiering"
	"github.com/sluicehq/sluice/tiering/bucket"
)

// countingLog is a metadata.Log that only counts commits, per shard.
type countingLog struct {
	metadata.Log
	counts map[string]int64
}

func (l countingLog) CommitCounts(context.Context) (map[string]int64, error) {
	return maps.Clone(l.counts), nil
}

func TestCommitCountsRecord(t *testing.T) {
	for _, counts := range []map[string]int64{{"": 42}, {"slot0": 7, "slot5461": 0, "slot10923": 12}} {
		got, err := parseCommitCounts(formatCommitCounts(counts))
		if err != nil || !maps.Equal(got, counts) {
			t.Errorf("round trip of %v: %v, %v", counts, got, err)
		}
	}
	// A single store's record stays the plain number it always was.
	if got := formatCommitCounts(map[string]int64{"": 42}); got != "42" {
		t.Errorf("single-shard record %q, want 42", got)
	}
	for _, bad := range []string{"x", "a b c", "slot0 x\n"} {
		if _, err := parseCommitCounts(bad); err == nil {
			t.Errorf("parseCommitCounts(%q) succeeded", bad)
		}
	}
}

// A shard that counts fewer commits than the bucket records is caught even
// when the other shards counted more since; a shard the store no longer has
// is skipped.
func TestCheckStoreRollbackPerShard(t *testing.T) {
	ctx := context.Background()
	b := bucket.NewInMem()
	record := "slot0 10\nslot5461 10\nslot9000 10\n"
	if err := b.Upload(ctx, tiering.CommitCountKey, []byte(record)); err != nil {
		t.Fatal(err)
	}
	ok := countingLog{counts: map[string]int64{"slot0": 10, "slot5461": 11}}
	if err := CheckStoreRollback(ctx, ok, b); err != nil {
		t.Fatalf("counts at or above the record: %v", err)
	}
	back := countingLog{counts: map[string]int64{"slot0": 50, "slot5461": 9}}
	if err := CheckStoreRollback(ctx, back, b); !errors.Is(err, ErrStoreWentBack) {
		t.Fatalf("one shard below the record: %v, want ErrStoreWentBack", err)
	}
}
