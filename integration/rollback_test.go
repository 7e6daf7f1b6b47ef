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
	"github.com/sluicehq/sluice/metadata"
	"github.com/sluicehq/sluice/metadata/redis"
)

// TestRedisBackInTime replaces Redis under a running agent with an older
// copy of its own data, as a restore from a stale snapshot would. The agent
// must stop writing rather than hand out acknowledged offsets again, and a
// new agent must refuse to start on it.
func TestRedisBackInTime(t *testing.T) {
	rd := testenv.StartRedis(t, testenv.WithAOF())
	s3 := testenv.StartS3(t)
	a := startAgent(t, rd.URL(), s3.URL(), "--commit-count-interval", "100ms")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	createTopic(ctx, t, a.addr, "rollback", 1)
	cl, err := kgo.NewClient(kgo.SeedBrokers(a.addr), kgo.RecordRetries(3), kgo.RecordDeliveryTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	produceN(ctx, t, cl, "rollback", 0, 100, 10, newLedger())

	// The snapshot: Redis's files as they are after 100 records.
	rd.Stop()
	snapshot := filepath.Join(t.TempDir(), "snapshot")
	if err := os.CopyFS(snapshot, os.DirFS(rd.Dir())); err != nil {
		t.Fatal(err)
	}
	rd.Restart(t)
	produceN(ctx, t, cl, "rollback", 100, 100, 10, newLedger())
	time.Sleep(500 * time.Millisecond) // the agent records the commit count

	rd.Restart(t, testenv.WithDir(snapshot))
	hwBefore := redisHighWatermark(t, rd.URL())
	if hwBefore != 100 {
		t.Fatalf("restored Redis has high watermark %d, want the snapshot's 100", hwBefore)
	}
	res := cl.ProduceSync(ctx, &kgo.Record{Topic: "rollback", Value: []byte("after the restore")})
	if res.FirstErr() == nil {
		t.Fatalf("produce after the restore succeeded at offset %d: an acknowledged offset was handed out again", res[0].Record.Offset)
	}
	if hw := redisHighWatermark(t, rd.URL()); hw != hwBefore {
		t.Fatalf("high watermark moved from %d to %d on the restored Redis", hwBefore, hw)
	}
	t.Logf("running agent refused: %v", res.FirstErr())

	code, stderr := runSluice(t, "agent", "--listen", freePort(t), "--http-listen", "", "--redis", rd.URL(), "--bucket", s3.URL())
	if code == 0 || !strings.Contains(stderr, "lost acknowledged writes") {
		t.Fatalf("a new agent started on the restored Redis: exit %d, %q", code, stderr)
	}
	t.Logf("new agent refused: %s", strings.TrimSpace(stderr))
}

// redisHighWatermark reads the one partition's high watermark straight
// from Redis.
func redisHighWatermark(t *testing.T, url string) int64 {
	t.Helper()
	ctx := context.Background()
	s, err := redis.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tp, err := s.Topic(ctx, "rollback")
	if err != nil {
		t.Fatal(err)
	}
	os, err := s.Offsets(ctx, []metadata.Partition{{Topic: tp.ID}})
	if err != nil {
		t.Fatal(err)
	}
	return os[0].HighWatermark
}
