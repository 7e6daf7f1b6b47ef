package integration

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	kafka "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/integration/testenv"
)

// Consumer groups end to end: every client's group consumer reads a topic
// to its end through a `sluice agent` on real Redis and S3 and commits,
// and the group's committed offsets end at the high watermarks.

const groupRecords = 2000

// groupTopic fills a 4-partition topic with groupRecords records whose
// values are their numbers.
func groupTopic(t *testing.T, seeds, topic string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	createTopic(ctx, t, seeds, topic, 4)
	produceNumbers(ctx, t, seeds, topic, 0, groupRecords)
}

func produceNumbers(ctx context.Context, t *testing.T, seeds, topic string, from, n int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	rs := make([]*kgo.Record, 0, n)
	for i := from; i < from+n; i++ {
		rs = append(rs, &kgo.Record{Key: []byte(strconv.Itoa(i)), Value: []byte(strconv.Itoa(i))})
	}
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		t.Fatalf("producing: %v", err)
	}
}

// produceFlowing produces groupRecords records to a new 4-partition topic
// in small batches, so that members join and leave while records flow.
// The returned channel is closed when all are acknowledged.
func produceFlowing(t *testing.T, seeds, topic string) <-chan struct{} {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	createTopic(ctx, t, seeds, topic, 4)
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer cancel()
		defer cl.Close()
		for i := 0; i < groupRecords; i += 50 {
			var rs []*kgo.Record
			for j := i; j < i+50; j++ {
				rs = append(rs, &kgo.Record{Key: []byte(strconv.Itoa(j)), Value: []byte(strconv.Itoa(j))})
			}
			if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
				t.Errorf("producing: %v", err)
				return
			}
		}
	}()
	return done
}

// numbers is the set of record values a group processed.
type numbers struct {
	mu   sync.Mutex
	seen map[string]bool
}

func newNumbers() *numbers { return &numbers{seen: map[string]bool{}} }

func (n *numbers) add(v string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.seen[v] = true
	return len(n.seen)
}

func (n *numbers) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.seen)
}

// waitCommitted waits until the group has committed every partition of
// topic up to its high watermark, and checks kadm sees no lag.
func waitCommitted(t *testing.T, adm *kadm.Client, group, topic string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		ends, err := adm.ListEndOffsets(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		committed, err := adm.FetchOffsets(ctx, group)
		if err != nil {
			t.Fatal(err)
		}
		var short []string
		ends.Each(func(o kadm.ListedOffset) {
			if c, ok := committed.Lookup(o.Topic, o.Partition); !ok || c.At != o.Offset {
				short = append(short, fmt.Sprintf("%d: %d of %d", o.Partition, c.At, o.Offset))
			}
		})
		if len(short) == 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("group %s committed short of the end: %v", group, short)
		}
		time.Sleep(100 * time.Millisecond)
	}
	lags, err := adm.Lag(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	if l := lags[group]; l.Error() != nil || l.Lag.Total() != 0 {
		t.Fatalf("group %s: lag %d, err %v", group, l.Lag.Total(), l.Error())
	}
}

// kgoMember is a franz-go group member that commits what it processed
// after every poll.
type kgoMember struct {
	cl   *kgo.Client
	stop context.CancelFunc
	done chan struct{}
}

func startKgoMember(t *testing.T, seeds, group, topic string, seen *numbers, opts ...kgo.Opt) *kgoMember {
	t.Helper()
	return startKgoMemberFunc(t, seeds, group, topic, func(r *kgo.Record) { seen.add(string(r.Value)) }, opts...)
}

// startKgoMemberFunc is startKgoMember calling process for each record.
func startKgoMemberFunc(t *testing.T, seeds, group, topic string, process func(*kgo.Record), opts ...kgo.Opt) *kgoMember {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(seeds),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, _ map[string][]int32) {
			_ = cl.CommitUncommittedOffsets(ctx)
		}),
		kgo.HeartbeatInterval(300 * time.Millisecond),
		kgo.FetchMaxWait(300 * time.Millisecond),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &kgoMember{cl: cl, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			fs.EachRecord(process)
			_ = cl.CommitUncommittedOffsets(ctx)
			cl.AllowRebalance()
		}
	}()
	t.Cleanup(m.leave)
	return m
}

// pause stops polling; the member stays in the group until its session
// ends or its client is closed.
func (m *kgoMember) pause() {
	m.stop()
	<-m.done
}

// leave closes the client, which leaves the group; a member cut off from
// its coordinator is given a few seconds.
func (m *kgoMember) leave() {
	m.pause()
	closed := make(chan struct{})
	go func() { m.cl.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(45 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestGroupConsumersAgainstAgent(t *testing.T) {
	rd := testenv.StartRedis(t)
	s3 := testenv.StartS3(t)
	// Short flushes: records flow in 40 acknowledged batches per topic.
	a := startAgent(t, rd.URL(), s3.URL(), "--flush-interval", "20ms")
	adm := newAdmin(t, a.addr)

	t.Run("franz-go members joining and leaving", func(t *testing.T) {
		for _, bal := range []kgo.GroupBalancer{kgo.RangeBalancer(), kgo.CooperativeStickyBalancer()} {
			topic, group := "kgo-"+bal.ProtocolName(), "kgo-"+bal.ProtocolName()
			produced := produceFlowing(t, a.addr, topic)
			seen := newNumbers()
			var assigned atomic.Int32
			opts := []kgo.Opt{kgo.Balancers(bal), kgo.OnPartitionsAssigned(func(context.Context, *kgo.Client, map[string][]int32) {
				assigned.Add(1)
			})}
			first := startKgoMember(t, a.addr, group, topic, seen, opts...)
			waitUntil(t, "the first records", func() bool { return seen.count() > 100 })
			startKgoMember(t, a.addr, group, topic, seen, opts...)
			startKgoMember(t, a.addr, group, topic, seen, opts...)
			waitUntil(t, "half the records", func() bool { return seen.count() > groupRecords/2 })
			first.leave()
			<-produced
			waitUntil(t, "every record", func() bool { return seen.count() == groupRecords })
			waitCommitted(t, adm, group, topic)
			if n := assigned.Load(); n < 4 {
				t.Fatalf("%d assignments: the group did not rebalance as members came and went", n)
			}
		}
	})

	t.Run("sarama", func(t *testing.T) { saramaGroup(t, a.addr, adm, "sarama") })
	t.Run("kafka-go", func(t *testing.T) { kafkaGoGroup(t, a.addr, adm, "kafka-go") })
	t.Run("kcat", func(t *testing.T) {
		const topic = "kcat"
		groupTopic(t, a.addr, topic)
		kcat := testenv.Need(t, "kcat")
		ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
		defer cancel()
		// -G: librdkafka's balanced consumer; -e: exit at the end of every
		// assigned partition, committing on close.
		out, err := exec.CommandContext(ctx, kcat, "-b", a.addr, "-G", "kcat-group", "-e", "-q",
			"-X", "auto.offset.reset=earliest", "-f", "%s\n", topic).Output()
		if err != nil {
			t.Fatalf("kcat -G: %v\n%s", err, out)
		}
		seen := newNumbers()
		for _, line := range strings.Fields(string(out)) {
			seen.add(line)
		}
		if seen.count() != groupRecords {
			t.Fatalf("kcat read %d distinct records, want %d", seen.count(), groupRecords)
		}
		waitCommitted(t, adm, "kcat-group", topic)
	})
}

// saramaGroup consumes topic with two sarama ConsumerGroup members, the
// second joining midway.
func saramaGroup(t *testing.T, seeds string, adm *kadm.Client, topic string) {
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V3_6_0_0
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Interval = 100 * time.Millisecond
	cfg.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategySticky()}
	cfg.Consumer.Group.Heartbeat.Interval = 300 * time.Millisecond
	cfg.Consumer.MaxWaitTime = 200 * time.Millisecond
	const group = "sarama-group"
	produced := produceFlowing(t, seeds, topic)
	seen := newNumbers()
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	var (
		wg  sync.WaitGroup
		per [2]atomic.Int32 // records each member processed
	)
	run := func(i int) {
		cg, err := sarama.NewConsumerGroup([]string{seeds}, group, cfg)
		if err != nil {
			t.Errorf("sarama: %v", err)
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer cg.Close() // commits what was marked
			h := saramaHandler{seen: seen, n: &per[i]}
			for ctx.Err() == nil && seen.count() < groupRecords {
				if err := cg.Consume(ctx, []string{topic}, h); err != nil && !errors.Is(err, context.Canceled) &&
					!errors.Is(err, sarama.ErrClosedConsumerGroup) {
					t.Logf("sarama consume: %v", err)
				}
			}
		}()
	}
	run(0)
	waitUntil(t, "sarama's first records", func() bool { return seen.count() > 100 })
	run(1)
	<-produced
	waitUntil(t, "every record through sarama", func() bool { return seen.count() == groupRecords })
	// Let the last marks be committed by the interval, then close.
	time.Sleep(300 * time.Millisecond)
	cancel()
	wg.Wait()
	waitCommitted(t, adm, group, topic)
	if per[1].Load() == 0 {
		t.Fatalf("the second member processed nothing (the first %d)", per[0].Load())
	}
}

type saramaHandler struct {
	seen *numbers
	n    *atomic.Int32
}

func (saramaHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (saramaHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h saramaHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for msg := range c.Messages() {
		h.seen.add(string(msg.Value))
		h.n.Add(1)
		s.MarkMessage(msg, "")
	}
	return nil
}

// kafkaGoGroup consumes topic with two kafka-go Readers in one group,
// committing synchronously.
func kafkaGoGroup(t *testing.T, seeds string, adm *kadm.Client, topic string) {
	const group = "kafka-go-group"
	produced := produceFlowing(t, seeds, topic)
	seen := newNumbers()
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	var (
		wg  sync.WaitGroup
		per [2]atomic.Int32
	)
	for i := range 2 {
		r := kafka.NewReader(kafka.ReaderConfig{
			Brokers:           []string{seeds},
			GroupID:           group,
			Topic:             topic,
			StartOffset:       kafka.FirstOffset,
			MaxWait:           200 * time.Millisecond,
			HeartbeatInterval: 300 * time.Millisecond,
			SessionTimeout:    10 * time.Second,
			RebalanceTimeout:  10 * time.Second,
		})
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer r.Close()
			for seen.count() < groupRecords {
				m, err := r.FetchMessage(ctx)
				if err != nil {
					if ctx.Err() == nil {
						t.Errorf("kafka-go reader %d: %v", i, err)
					}
					return
				}
				seen.add(string(m.Value))
				per[i].Add(1)
				if err := r.CommitMessages(ctx, m); err != nil && ctx.Err() == nil {
					t.Logf("kafka-go commit: %v", err)
				}
			}
		}()
		if i == 0 {
			waitUntil(t, "kafka-go's first records", func() bool { return seen.count() > 100 })
		}
	}
	<-produced
	waitUntil(t, "every record through kafka-go", func() bool { return seen.count() == groupRecords })
	waitCommitted(t, adm, group, topic)
	cancel()
	wg.Wait()
	if per[1].Load() == 0 {
		t.Fatalf("the second reader processed nothing (the first %d)", per[0].Load())
	}
}

// TestGroupCoordinatorFailover kills the agent coordinating a group with
// committed offsets; the agent that takes over loads the group from Redis,
// and a member joining there carries on from the committed offsets.
func TestGroupCoordinatorFailover(t *testing.T) {
	rd := testenv.StartRedis(t)
	s3 := testenv.StartS3(t)
	a := startAgent(t, rd.URL(), s3.URL())
	const topic, group = "failover", "failover-group"
	groupTopic(t, a.addr, topic)

	seen := newNumbers()
	timeouts := []kgo.Opt{kgo.SessionTimeout(6 * time.Second), kgo.RebalanceTimeout(8 * time.Second)}
	m := startKgoMember(t, a.addr, group, topic, seen, timeouts...)
	waitUntil(t, "some records", func() bool { return seen.count() > groupRecords/4 })
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	// One poll can return every record, and pausing cancels the commit that
	// follows it: wait for a commit first.
	before := newAdmin(t, a.addr)
	waitUntil(t, "a commit", func() bool {
		o, err := before.FetchOffsets(ctx, group)
		return err == nil && len(o) > 0
	})
	m.pause() // still a member, as a client cut off from its coordinator is

	committed, err := before.FetchOffsets(ctx, group)
	if err != nil || len(committed) == 0 {
		t.Fatalf("committed before the kill: %v %v", committed, err)
	}
	a.Kill()

	b := startAgent(t, rd.URL(), s3.URL())
	adm := newAdmin(t, b.addr)
	described, err := adm.DescribeGroups(ctx, group)
	if err != nil || described[group].State != "Stable" || len(described[group].Members) != 1 {
		t.Fatalf("the new coordinator does not carry the group on: %+v %v", described[group], err)
	}
	after, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	committed.Each(func(o kadm.OffsetResponse) {
		if got, _ := after.Lookup(o.Topic, o.Partition); got.At != o.At {
			t.Errorf("partition %d committed %d before the kill, %d after", o.Partition, o.At, got.At)
		}
	})

	// A member joins at the new coordinator: the silent one is dropped at
	// its rebalance timeout, and consumption resumes at the commits.
	var below sync.Map
	startKgoMemberFunc(t, b.addr, group, topic, func(r *kgo.Record) {
		if c, ok := committed.Lookup(r.Topic, r.Partition); ok && r.Offset < c.At {
			below.Store(r.Partition, r.Offset)
		}
		seen.add(string(r.Value))
	}, timeouts...)
	produceNumbers(ctx, t, b.addr, topic, groupRecords, 100)
	waitUntil(t, "every record", func() bool { return seen.count() == groupRecords+100 })
	below.Range(func(p, o any) bool {
		t.Errorf("partition %v read again from %v, below its commit", p, o)
		return true
	})
	waitCommitted(t, adm, group, topic)
}
