package integration

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/integration/testenv"
)

// redisCalls returns Redis's per-command call counts (INFO commandstats).
func redisCalls(t *testing.T, addr string) map[string]int {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: addr})
	defer c.Close()
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]int{}
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":calls=")
		if !ok {
			continue
		}
		n, _ := strconv.Atoi(strings.SplitN(rest, ",", 2)[0])
		calls[strings.TrimPrefix(name, "cmdstat_")] = n
	}
	return calls
}

// TestCostPerFlushAndTailFetch counts, on real servers, one PUT and one
// Redis round trip per flush whatever the number of producers and
// partitions, and no Redis command per fetch for consumers long-polling at
// the tail.
func TestCostPerFlushAndTailFetch(t *testing.T) {
	rd := testenv.StartRedis(t)
	s3 := testenv.StartS3(t)
	// Small flushes, so the count covers many of them.
	// Maintenance off: its compaction PUTs and lease commands are not the
	// write or read path's. Nor are fleet heartbeats (two scripts per
	// interval whatever the traffic), nor the commit-count read (one per
	// --commit-count-interval): one an hour keeps them out of the window.
	a := startAgent(t, rd.URL(), s3.URL(), "--flush-bytes", "65536", "--maintenance-interval", "0",
		"--heartbeat-interval", "1h", "--heartbeat-ttl", "2h", "--commit-count-interval", "1h")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	createTopic(ctx, t, a.addr, "cost", 24)

	before := redisCalls(t, rd.Addr())
	l := newLedger()
	done := make(chan struct{})
	for p := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			cl, err := kgo.NewClient(kgo.SeedBrokers(a.addr), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
			if err != nil {
				t.Error(err)
				return
			}
			defer cl.Close()
			produceN(ctx, t, cl, "cost", uint64(p)*50_000, 50_000, 100, l)
		}()
	}
	for range 4 {
		<-done
	}
	after := redisCalls(t, rd.Addr())
	flushes := a.Metric("sluice_produce_flushes_total")
	// Besides flushes, the only PUTs record the commit count (rollback check).
	uploads := a.Metric("sluice_bucket_operations_total", `operation="upload"`) - a.Metric("sluice_agent_commit_count_records_total")
	commits := after["evalsha"] - before["evalsha"] + after["eval"] - before["eval"]
	t.Logf("4 producers x 24 partitions, 200000 records: %.0f flushes, %.0f PUTs, %d commit scripts", flushes, uploads, commits)
	if uploads != flushes || float64(commits) != flushes {
		t.Fatalf("PUTs %.0f and commits %d for %.0f flushes: want one each per flush", uploads, commits, flushes)
	}

	// Two consumers read to the tail, then long-poll there.
	var consumers []*kgo.Client
	for range 2 {
		cl, err := kgo.NewClient(kgo.SeedBrokers(a.addr), kgo.ConsumeTopics("cost"),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		consumers = append(consumers, cl)
		for n := 0; n < 200_000; {
			fs := cl.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("consumer read %d of 200000", n)
			}
			n += fs.NumRecords()
		}
	}
	idleFrom := redisCalls(t, rd.Addr())
	fetchesFrom := a.Metric("sluice_agent_requests_total", `api="Fetch"`)
	pollCtx, stop := context.WithTimeout(ctx, 3*time.Second)
	for _, cl := range consumers {
		go func() {
			for pollCtx.Err() == nil {
				cl.PollFetches(pollCtx)
			}
		}()
	}
	<-pollCtx.Done()
	stop()
	idleTo := redisCalls(t, rd.Addr())
	fetches := a.Metric("sluice_agent_requests_total", `api="Fetch"`) - fetchesFrom
	var cmds int
	var names []string
	for name, n := range idleTo {
		// HELLO opens a pooled connection: once per connection, not per fetch.
		if d := n - idleFrom[name]; name != "ping" && name != "info" && name != "hello" && d > 0 {
			cmds += d
			names = append(names, name+"="+strconv.Itoa(d))
		}
	}
	t.Logf("3s at the tail: %.0f fetch requests, %d Redis commands %v", fetches, cmds, names)
	// The topic cache refreshes once per TTL (2s) whatever the fetch rate.
	// Nothing may scale with fetches.
	if fetches < 20 || cmds > 3 {
		t.Fatalf("%d Redis commands for %.0f tail fetches, want none per fetch", cmds, fetches)
	}
}
