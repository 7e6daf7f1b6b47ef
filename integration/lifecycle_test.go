package integration

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/integration/testenv"
	"github.com/sluicehq/sluice/metadata"
	"github.com/sluicehq/sluice/metadata/redis"
	"github.com/sluicehq/sluice/tiering"
	"github.com/sluicehq/sluice/tiering/bucket"
	"github.com/sluicehq/sluice/tiering/segment"
)

// lifecycleRig is an agent with fast maintenance on real Redis and S3,
// and direct handles on both to look behind it.
type lifecycleRig struct {
	rd     *testenv.Redis
	s3     *testenv.S3
	agent  *agentProc
	redis  *goredis.Client
	store  *redis.Store
	bucket bucket.Bucket
}

func newLifecycleRig(t *testing.T) *lifecycleRig {
	rd, s3 := testenv.StartRedis(t), testenv.StartS3(t)
	r := &lifecycleRig{rd: rd, s3: s3}
	r.agent = startAgent(t, rd.URL(), s3.URL(), "--flush-interval", "5ms",
		"--maintenance-interval", "200ms", "--compact-min-entries", "8", "--compact-min-age", "2s", "--object-grace", "2s",
		"--segment-entry-bytes", "1024")
	r.redis = goredis.NewClient(&goredis.Options{Addr: rd.Addr()})
	t.Cleanup(func() { _ = r.redis.Close() })
	var err error
	if r.store, err = redis.Open(t.Context(), rd.URL()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.store.Close() })
	if r.bucket, err = tiering.OpenBucket(t.Context(), s3.URL()); err != nil {
		t.Fatal(err)
	}
	return r
}

// entries is ZCARD of the partition's index sorted set, read straight
// from Redis.
func (r *lifecycleRig) entries(t *testing.T, tp metadata.Topic, p int32) int64 {
	t.Helper()
	n, err := r.redis.ZCard(t.Context(), fmt.Sprintf("sluice:{p:%s:%d}:index", tp.ID, p)).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// logStart is the partition's log start, read straight from Redis.
func (r *lifecycleRig) logStart(t *testing.T, tp metadata.Topic, p int32) string {
	t.Helper()
	v, _ := r.redis.HGet(t.Context(), fmt.Sprintf("sluice:{p:%s:%d}:state", tp.ID, p), "start").Result()
	return v
}

func (r *lifecycleRig) keys(t *testing.T, prefix string) []string {
	t.Helper()
	var ks []string
	if err := r.bucket.Iter(t.Context(), prefix, func(k string) error { ks = append(ks, k); return nil }); err != nil {
		t.Fatal(err)
	}
	return ks
}

// waitFor polls cond for up to a minute, the time maintenance needs at
// these settings with room to spare.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestLifecycle runs compaction, retention and cleanup in a real agent:
// many small flushes are compacted (the index shrinks in Redis) into
// segments, each indexed in several entries, that `sluice object inspect`
// shows with real offsets, every
// record still reads back at its acked offset, retention.ms moves the log
// start, and cleanup deletes what was let go, and an orphan, after the
// grace period.
func TestLifecycle(t *testing.T) {
	r := newLifecycleRig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	createTopic(ctx, t, r.agent.addr, "lifecycle", 2)
	tp, err := r.store.Topic(ctx, "lifecycle")
	if err != nil {
		t.Fatal(err)
	}
	orphan := r.uploadOrphan(t, tp)

	cl, err := kgo.NewClient(kgo.SeedBrokers(r.agent.addr), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	l := newLedger()
	const rounds = 64
	for i := range uint64(rounds) {
		produceN(ctx, t, cl, "lifecycle", 2*i, 2, 100, l) // one small flush each
	}
	ingested := len(r.keys(t, tiering.IngestPrefix))
	before := [2]int64{r.entries(t, tp, 0), r.entries(t, tp, 1)}
	waitFor(t, "compaction", func() bool { return r.objects(t, tp, 0) <= 12 && r.objects(t, tp, 1) <= 12 })
	if before[0] < 32 || before[1] < 32 {
		t.Fatalf("only %v index entries after %d flushes: the flushes were not small", before, rounds)
	}
	r.wantSplitSegment(t, tp)
	verifyLog(ctx, t, r.agent.addr, "lifecycle", l)
	r.inspectSegment(ctx, t)
	waitFor(t, "the orphan deleted", func() bool { return len(r.keys(t, orphan)) == 0 })
	waitFor(t, "compacted ingest objects deleted", func() bool { return len(r.keys(t, tiering.IngestPrefix)) < ingested/2 })
	after := [2]int64{r.entries(t, tp, 0), r.entries(t, tp, 1)}
	t.Logf("index entries per partition: %v before compaction, %v after; ingest objects: %d before, %d after grace",
		before, after, ingested, len(r.keys(t, tiering.IngestPrefix)))

	// Retention: everything is older than 1s.
	adm := newAdmin(t, r.agent.addr)
	if _, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "retention.ms", Value: kadm.StringPtr("1000")}}, "lifecycle"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "retention to move the log start", func() bool {
		return r.logStart(t, tp, 0) == fmt.Sprint(rounds) && r.logStart(t, tp, 1) == fmt.Sprint(rounds)
	})
	waitFor(t, "every object deleted", func() bool {
		return len(r.keys(t, tiering.IngestPrefix)) == 0 && len(r.keys(t, tiering.SegmentsPrefix)) == 0
	})
	if n := r.entries(t, tp, 0) + r.entries(t, tp, 1); n != 0 {
		t.Errorf("%d index entries left after retention", n)
	}
	// A fresh agent (nothing cached) answers the new log start.
	fresh := startAgent(t, r.rd.URL(), r.s3.URL())
	starts, err := newAdmin(t, fresh.addr).ListStartOffsets(ctx, "lifecycle")
	if err != nil {
		t.Fatal(err)
	}
	starts.Each(func(o kadm.ListedOffset) {
		if o.Err != nil || o.Offset != rounds {
			t.Errorf("partition %d: earliest offset %d (%v), want %d", o.Partition, o.Offset, o.Err, rounds)
		}
	})
	t.Logf("cleanup deleted %.0f objects; %.0f compactions",
		r.agent.Metric("sluice_agent_objects_deleted_total"), r.agent.Metric("sluice_agent_compactions_total", `result="done"`))
}

// uploadOrphan puts an ingest object in the bucket whose commit never
// happened, and records it as the produce path does when a commit fails.
func (r *lifecycleRig) uploadOrphan(t *testing.T, tp metadata.Topic) string {
	t.Helper()
	var buf bytes.Buffer
	w := segment.NewWriter(&buf, segment.KindIngest)
	b := idempotentBatch(1, 0, 0)
	h, _ := segment.ParseBatch(b)
	if _, err := w.WriteBatch(segment.Section{Topic: tp.Name, TopicID: tp.ID, Partition: 0}, b, h.Meta()); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	key := tiering.NewIngestKey()
	if err := r.bucket.Upload(t.Context(), key, buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := r.store.RecordOrphan(t.Context(), key); err != nil {
		t.Fatal(err)
	}
	return key
}

// named counts the index entries of partition p naming each object.
func (r *lifecycleRig) named(t *testing.T, tp metadata.Topic, p int32) map[string]int {
	t.Helper()
	es, err := r.store.Index(t.Context(), metadata.Partition{Topic: tp.ID, Index: p}, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	named := map[string]int{}
	for _, e := range es {
		named[e.Object]++
	}
	return named
}

// objects is how many objects the index of partition p names.
func (r *lifecycleRig) objects(t *testing.T, tp metadata.Topic, p int32) int {
	t.Helper()
	return len(r.named(t, tp, p))
}

// wantSplitSegment checks that a compacted segment of partition 0 is
// named by several index entries.
func (r *lifecycleRig) wantSplitSegment(t *testing.T, tp metadata.Topic) {
	t.Helper()
	named := r.named(t, tp, 0)
	for k, n := range named {
		if strings.HasPrefix(k, tiering.SegmentsPrefix) && n > 1 {
			return
		}
	}
	t.Fatalf("no compacted segment is named by several index entries: %v", named)
}

// inspectSegment runs `sluice object inspect` on a compacted segment and
// checks that it shows the real offsets its key starts at.
func (r *lifecycleRig) inspectSegment(ctx context.Context, t *testing.T) {
	t.Helper()
	out, err := exec.CommandContext(ctx, sluiceBin, "object", "ls", r.s3.URL(), tiering.SegmentsPrefix).CombinedOutput()
	if err != nil {
		t.Fatalf("object ls: %v\n%s", err, out)
	}
	segs := strings.Fields(string(out))
	if len(segs) == 0 {
		t.Fatal("no compacted segment in the bucket")
	}
	key := segs[len(segs)-1]
	out, err = exec.CommandContext(ctx, sluiceBin, "object", "inspect", r.s3.URL(), key).CombinedOutput()
	if err != nil {
		t.Fatalf("object inspect: %v\n%s", err, out)
	}
	var base int64
	name := key[strings.LastIndex(key, "/")+1:]
	if _, err := fmt.Sscanf(name, "%020d-", &base); err != nil {
		t.Fatalf("segment key %s: %v", key, err)
	}
	for _, want := range []string{"checksums verified", "compacted", "lifecycle", fmt.Sprintf(" %d-", base)} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("object inspect %s lacks %q:\n%s", key, want, out)
		}
	}
	if strings.Contains(string(out), "unassigned") {
		t.Fatalf("compacted segment shows unassigned offsets:\n%s", out)
	}
	t.Logf("%s", out)
}

// TestDeleteTopicFreesItsObjects deletes a topic some of whose objects
// also hold another topic's batches: cleanup deletes, after the grace
// period, every object that only the deleted topic named, before any
// compaction or retention could have let go of it, and keeps the shared
// ones, whose other topic still reads back whole.
func TestDeleteTopicFreesItsObjects(t *testing.T) {
	r := newLifecycleRig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	createTopic(ctx, t, r.agent.addr, "doomed", 2)
	createTopic(ctx, t, r.agent.addr, "survivor", 1)
	doomed, err := r.store.Topic(ctx, "doomed")
	if err != nil {
		t.Fatal(err)
	}
	survivor, err := r.store.Topic(ctx, "survivor")
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(r.agent.addr), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	gone, kept := newLedger(), newLedger()
	for i := range uint64(8) {
		// One request, so one object, holds a record of each topic.
		for _, rec := range []struct {
			topic string
			l     *ledger
		}{{"doomed", gone}, {"survivor", kept}} {
			v := make([]byte, 100)
			binary.BigEndian.PutUint64(v, i)
			cl.Produce(ctx, &kgo.Record{Topic: rec.topic, Value: v}, func(r *kgo.Record, err error) { rec.l.record(r, err) })
		}
		if err := cl.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		produceN(ctx, t, cl, "doomed", 100+2*i, 2, 100, gone) // objects of its own
	}
	if len(gone.errs)+len(kept.errs) > 0 {
		t.Fatalf("produce errors: %v %v", gone.errs, kept.errs)
	}
	shared := r.named(t, survivor, 0)
	own := map[string]bool{}
	for p := range int32(2) {
		for k := range r.named(t, doomed, p) {
			if shared[k] == 0 {
				own[k] = true
			}
		}
	}
	if _, err := newAdmin(t, r.agent.addr).DeleteTopic(ctx, "doomed"); err != nil {
		t.Fatal(err)
	}
	if len(own) == 0 || len(shared) == 0 {
		t.Fatalf("%d objects of the deleted topic alone, %d shared: want both", len(own), len(shared))
	}
	waitFor(t, "the deleted topic's objects deleted", func() bool {
		for k := range own {
			if len(r.keys(t, k)) != 0 {
				return false
			}
		}
		return true
	})
	verifyLog(ctx, t, r.agent.addr, "survivor", kept)
	t.Logf("deleted %d objects of the deleted topic; %d shared objects kept", len(own), len(shared))
}
