package redis

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/integration/testenv"
	"github.com/sluicehq/sluice/metadata"
)

// clusterCommit is one batch on each of n partitions of tp.
func clusterCommit(tp metadata.Topic, n int32) metadata.Commit {
	c := metadata.Commit{Object: "obj-" + tp.Name}
	for i := range n {
		c.Batches = append(c.Batches, metadata.CommitBatch{Partition: metadata.Partition{Topic: tp.ID, Index: i},
			Pos: int64(i) * 10, Len: 10, Records: 1, ProducerID: metadata.NoProducer})
	}
	return c
}

// evalCalls returns each node's EVAL and EVALSHA call count.
func evalCalls(t *testing.T, c *testenv.RedisCluster) []int {
	t.Helper()
	var out []int
	for _, a := range c.Addrs() {
		info, err := testenv.Command(t.Context(), a, "INFO", "commandstats")
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for line := range strings.Lines(info) {
			name, rest, ok := strings.Cut(strings.TrimSpace(line), ":calls=")
			if ok && (name == "cmdstat_evalsha" || name == "cmdstat_eval") {
				v, _ := strconv.Atoi(strings.SplitN(rest, ",", 2)[0])
				n += v
			}
		}
		out = append(out, n)
	}
	return out
}

// A commit spanning every shard is one script per shard, and its offsets are
// dense per partition.
func TestClusterCommitOneScriptPerShard(t *testing.T) {
	c := testenv.StartRedisCluster(t)
	s := openStore(t, c.URL())
	tp := createTopic(t, s, "t", 24)
	before := evalCalls(t, c)
	for round := range int64(3) {
		rs, err := s.Commit(t.Context(), clusterCommit(tp, 24))
		if err != nil {
			t.Fatalf("Commit: %v", err)
		}
		for i, r := range rs {
			if r.Err != nil || r.BaseOffset != round {
				t.Fatalf("round %d batch %d: %+v, want offset %d", round, i, r, round)
			}
		}
	}
	after := evalCalls(t, c)
	for i := range after {
		if d := after[i] - before[i]; d != 3 {
			t.Errorf("node %s ran %d scripts for 3 commits, want 3 (one per commit)", c.Addrs()[i], d)
		}
	}
	counts, err := s.CommitCounts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(counts) != 3 {
		t.Fatalf("CommitCounts = %v, want one count per shard", counts)
	}
	for name, n := range counts {
		if n != 3 {
			t.Errorf("shard %s counts %d commits, want 3", name, n)
		}
	}
}

// A shard that lost its epoch, as one emptied under running agents does,
// fails its part with ErrShardFailed while the other shards commit; when
// every shard fails, Commit fails.
func TestClusterPartialCommit(t *testing.T) {
	c := testenv.StartRedisCluster(t)
	s := openStore(t, c.URL())
	tp := createTopic(t, s, "t", 24)
	topo, err := s.topology(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	lost := topo.shards[0]
	if err := s.client.Del(t.Context(), lost.epochKey).Err(); err != nil {
		t.Fatal(err)
	}
	rs, err := s.Commit(t.Context(), clusterCommit(tp, 24))
	if err != nil {
		t.Fatalf("Commit with one shard fenced: %v", err)
	}
	failed := 0
	for i, r := range rs {
		onLost := topo.shards[topo.owner[keySlot(stateKey(metadata.Partition{Topic: tp.ID, Index: int32(i)}))]] == lost
		switch {
		case onLost && (!errors.Is(r.Err, metadata.ErrShardFailed) || !errors.Is(r.Err, metadata.ErrFenced)):
			t.Errorf("batch %d on the fenced shard: %v, want ErrShardFailed and ErrFenced", i, r.Err)
		case !onLost && (r.Err != nil || r.BaseOffset != 0):
			t.Errorf("batch %d on a live shard: %+v, want committed at 0", i, r)
		}
		if onLost {
			failed++
		}
	}
	if failed == 0 || failed == len(rs) {
		t.Fatalf("%d of %d batches on the fenced shard; want some", failed, len(rs))
	}
	for _, sh := range topo.shards {
		if err := s.client.Del(t.Context(), sh.epochKey).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Commit(t.Context(), clusterCommit(tp, 24)); !errors.Is(err, metadata.ErrFenced) {
		t.Fatalf("Commit with every shard fenced: %v, want ErrFenced", err)
	}
}

// A shard whose commit count went back (a restore, a failover that lost
// writes) refuses its part.
func TestClusterCountWentBack(t *testing.T) {
	c := testenv.StartRedisCluster(t)
	s := openStore(t, c.URL())
	tp := createTopic(t, s, "t", 24)
	if _, err := s.Commit(t.Context(), clusterCommit(tp, 24)); err != nil {
		t.Fatal(err)
	}
	topo, _ := s.topology(t.Context())
	if err := s.client.Set(t.Context(), topo.shards[1].countKey, 0, 0).Err(); err != nil {
		t.Fatal(err)
	}
	rs, err := s.Commit(t.Context(), clusterCommit(tp, 24))
	if err != nil {
		t.Fatal(err)
	}
	refused := 0
	for _, r := range rs {
		if errors.Is(r.Err, metadata.ErrFenced) {
			refused++
		}
	}
	if refused == 0 || refused == len(rs) {
		t.Fatalf("%d of %d batches refused, want those of one shard", refused, len(rs))
	}
}

// When slots moved since the store read the topology, the shard script
// finds a key it does not serve, writes nothing, and the store reads the
// topology again for the next commit.
func TestClusterStaleTopology(t *testing.T) {
	c := testenv.StartRedisCluster(t)
	s := openStore(t, c.URL())
	tp := createTopic(t, s, "t", 24)
	// Misroute partition 0 to another shard, as a reshard would.
	s.cluster.mu.Lock()
	wrong := *s.cluster.topo
	slot := keySlot(stateKey(metadata.Partition{Topic: tp.ID}))
	wrong.owner[slot] = (wrong.owner[slot] + 1) % int16(len(wrong.shards))
	s.cluster.topo = &wrong
	s.cluster.mu.Unlock()

	rs, err := s.Commit(t.Context(), clusterCommit(tp, 24))
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(rs[0].Err, metadata.ErrShardFailed) {
		t.Fatalf("misrouted partition: %+v, want ErrShardFailed", rs[0])
	}
	// The whole shard part holding it failed, and nothing else.
	refused := make([]bool, len(rs))
	for i, r := range rs {
		refused[i] = r.Err != nil
	}
	hw, err := s.Offsets(t.Context(), []metadata.Partition{{Topic: tp.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if hw[0].HighWatermark != 0 {
		t.Fatalf("misrouted partition has high watermark %d: a refused shard part wrote", hw[0].HighWatermark)
	}
	rs, err = s.Commit(t.Context(), clusterCommit(tp, 24))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rs {
		want := int64(1)
		if refused[i] {
			want = 0
		}
		if r.Err != nil || r.BaseOffset != want {
			t.Fatalf("after the topology is read again, batch %d: %+v, want offset %d", i, r, want)
		}
	}
}

func TestClusterCheckDurability(t *testing.T) {
	plain := testenv.StartRedisCluster(t)
	if err := openStore(t, plain.URL()).CheckDurability(t.Context()); !errors.Is(err, ErrNotDurable) {
		t.Errorf("CheckDurability without AOF: %v, want ErrNotDurable", err)
	}
	aof := testenv.StartRedisCluster(t, testenv.WithAOF())
	if err := openStore(t, aof.URL()).CheckDurability(t.Context()); err != nil {
		t.Errorf("CheckDurability with appendfsync always: %v", err)
	}
}

func TestParseClusterURL(t *testing.T) {
	o, err := parseClusterURL("rediss://u:pw@10.0.0.1:7000,10.0.0.2:7001/")
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Addrs) != 2 || o.Addrs[1] != "10.0.0.2:7001" || o.Username != "u" || o.Password != "pw" || o.TLSConfig == nil {
		t.Fatalf("parsed %+v", o)
	}
	for _, u := range []string{"redis://h:1/3", "redis://h:1?x=1", "redis://h", "redis://h:1,,h:2", "http://h:1"} {
		if _, err := parseClusterURL(u); err == nil {
			t.Errorf("parseClusterURL(%q) succeeded", u)
		}
	}
	if _, err := Open(t.Context(), "redis+cluster://u:hunter2@h:1/5"); err == nil ||
		strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "redis+cluster://") {
		t.Errorf("Open of a cluster URL with a database: %v; want the accepted forms, and no password", err)
	}
}

// BenchmarkCommit24Partitions times a commit of one batch on each of 24
// partitions: one round trip on a single Redis, one per shard, sent at
// once, on a cluster of three.
func BenchmarkCommit24Partitions(b *testing.B) {
	for _, tc := range []struct {
		name string
		url  func() string
	}{
		{"single", func() string { return testenv.StartRedis(b).URL() }},
		{"cluster3", func() string { return testenv.StartRedisCluster(b).URL() }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s, err := Open(b.Context(), tc.url())
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if err := s.CreateTopic(b.Context(), metadata.Topic{Name: "t", Partitions: 24}); err != nil {
				b.Fatal(err)
			}
			tp, err := s.Topic(b.Context(), "t")
			if err != nil {
				b.Fatal(err)
			}
			c := clusterCommit(tp, 24)
			for b.Loop() {
				if _, err := s.Commit(b.Context(), c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
