package integration

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/integration/testenv"
	"github.com/sluicehq/sluice/tiering"
)

// TestRedisCluster runs an agent on a Redis Cluster of three primaries: an
// idempotent franz-go producer writes to 24 partitions, every record is read
// back at its acked offset, each flush runs at most one commit script on each
// shard, and the bucket records each shard's commit count.
func TestRedisCluster(t *testing.T) {
	c := testenv.StartRedisCluster(t, testenv.WithAOF())
	s3 := testenv.StartS3(t)
	// Without --accept-redis-data-loss: every primary must pass the
	// durability check. Small flushes, so the count covers many of them;
	// maintenance off and fleet heartbeats rare, as their scripts are not
	// the write path's.
	a := startSluice(t, "agent", "--redis", c.URL(), "--bucket", s3.URL(),
		"--flush-bytes", "16384", "--maintenance-interval", "0", "--commit-count-interval", "100ms",
		"--heartbeat-interval", "1h", "--heartbeat-ttl", "2h")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	createTopic(ctx, t, a.addr, "cluster", 24)

	before := clusterScripts(t, c)
	flushesBefore := a.Metric("sluice_produce_flushes_total")
	cl, err := kgo.NewClient(kgo.SeedBrokers(a.addr), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	l := newLedger()
	// Five rounds, each waiting for its acks, so the count covers several
	// flushes even when the client sends a round in one request.
	for round := range uint64(5) {
		produceN(ctx, t, cl, "cluster", round*1000, 1000, 100, l)
	}
	after := clusterScripts(t, c)
	flushes := a.Metric("sluice_produce_flushes_total") - flushesBefore

	total := 0
	for i := range after {
		d := after[i] - before[i]
		total += d
		if float64(d) > flushes {
			t.Errorf("node %s ran %d commit scripts for %.0f flushes: more than one per flush", c.Addrs()[i], d, flushes)
		}
	}
	t.Logf("5000 records x 24 partitions on 3 shards: %.0f flushes, %d commit scripts (%.2f shards per flush)",
		flushes, total, float64(total)/flushes)
	if flushes == 0 || float64(total) < flushes {
		t.Fatalf("%d commit scripts for %.0f flushes: want one per shard a flush touches", total, flushes)
	}
	verifyLog(ctx, t, a.addr, "cluster", l)

	// Each shard's count reaches the bucket, one line per shard.
	var record string
	waitUntil(t, "the commit counts in the bucket", func() bool {
		b, err := os.ReadFile(filepath.Join(s3.Dir(), tiering.CommitCountKey))
		record = string(b)
		return err == nil && strings.Count(record, "\n") == 3
	})
	t.Logf("%s:\n%s", tiering.CommitCountKey, record)
}

// clusterScripts returns each node's EVAL and EVALSHA call count.
func clusterScripts(t *testing.T, c *testenv.RedisCluster) []int {
	t.Helper()
	out := make([]int, 0, len(c.Nodes))
	for _, a := range c.Addrs() {
		calls := redisCalls(t, a)
		out = append(out, calls["evalsha"]+calls["eval"])
	}
	return out
}
