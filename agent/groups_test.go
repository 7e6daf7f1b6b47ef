package agent_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/agent/agenttest"
)

// seenSet records which values consumers processed.
type seenSet struct {
	mu   sync.Mutex
	vals map[string]int
}

func (s *seenSet) add(v string) {
	s.mu.Lock()
	s.vals[v]++
	s.mu.Unlock()
}

func (s *seenSet) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.vals)
}

// groupMember is one kgo consumer-group member processing records and
// committing what it processed after every poll.
type groupMember struct {
	cl   *kgo.Client
	stop context.CancelFunc
	done chan struct{}
}

func startGroupMember(t *testing.T, seeds, groupID, topic string, seen *seenSet, opts ...kgo.Opt) *groupMember {
	t.Helper()
	commit := func(ctx context.Context, cl *kgo.Client, _ map[string][]int32) {
		if err := cl.CommitUncommittedOffsets(ctx); err != nil {
			t.Logf("commit on revoke: %v", err)
		}
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(seeds),
		kgo.ConsumerGroup(groupID),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsRevoked(commit),
		kgo.HeartbeatInterval(200 * time.Millisecond),
		kgo.FetchMaxWait(200 * time.Millisecond),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &groupMember{cl: cl, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			fs.EachError(func(topic string, p int32, err error) {
				if !errors.Is(err, context.Canceled) {
					t.Logf("poll %s/%d: %v", topic, p, err)
				}
			})
			fs.EachRecord(func(r *kgo.Record) { seen.add(string(r.Value)) })
			if err := cl.CommitUncommittedOffsets(ctx); err != nil && ctx.Err() == nil {
				t.Logf("commit: %v", err)
			}
			cl.AllowRebalance()
		}
	}()
	t.Cleanup(m.leave)
	return m
}

// leave stops polling and closes the client, which leaves the group.
func (m *groupMember) leave() {
	m.stop()
	<-m.done
	m.cl.Close()
}

// produceSlowly produces n records, one batch every few milliseconds, so
// that members join and leave while records flow.
func produceSlowly(t *testing.T, seeds, topic string, n int) <-chan struct{} {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for i := 0; i < n; i += 50 {
			var rs []*kgo.Record
			for j := i; j < min(i+50, n); j++ {
				rs = append(rs, &kgo.Record{Key: []byte(strconv.Itoa(j)), Value: []byte(strconv.Itoa(j))})
			}
			if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
				t.Errorf("producing: %v", err)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return done
}

// waitCommittedToEnd waits until the group's commits reach every
// partition's high watermark, and checks that kadm sees no lag.
func waitCommittedToEnd(t *testing.T, adm *kadm.Client, groupID, topic string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		ends, err := adm.ListEndOffsets(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		committed, err := adm.FetchOffsets(ctx, groupID)
		if err != nil {
			t.Fatal(err)
		}
		behind := 0
		ends.Each(func(o kadm.ListedOffset) {
			c, ok := committed.Lookup(o.Topic, o.Partition)
			if !ok || c.At != o.Offset {
				behind++
			}
		})
		if behind == 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("%d partitions committed short of the end: %v", behind, committed)
		}
		time.Sleep(50 * time.Millisecond)
	}
	lags, err := adm.Lag(ctx, groupID)
	if err != nil {
		t.Fatal(err)
	}
	l := lags[groupID]
	if err := l.Error(); err != nil {
		t.Fatalf("lag of %s: %v", groupID, err)
	}
	if total := l.Lag.Total(); total != 0 {
		t.Fatalf("lag %d, want 0", total)
	}
}

// churn runs members of one group over a topic while records flow: one
// member, then three, then two; every record must be processed and the
// commits must end at the high watermark.
func churn(t *testing.T, balancer kgo.GroupBalancer) {
	a := agenttest.Start(t)
	adm := kadm.NewClient(client(t, a))
	ctx := testCtx(t)
	const topic, n = "events", 4000
	if _, err := adm.CreateTopic(ctx, 6, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	groupID := "churn-" + balancer.ProtocolName()
	seen := &seenSet{vals: map[string]int{}}
	var assigns atomic.Int32
	bal := []kgo.Opt{kgo.Balancers(balancer), kgo.OnPartitionsAssigned(func(context.Context, *kgo.Client, map[string][]int32) {
		assigns.Add(1)
	})}

	produced := produceSlowly(t, a.Addr(), topic, n)
	first := startGroupMember(t, a.Addr(), groupID, topic, seen, bal...)
	waitFor(t, func() bool { return seen.len() > 200 })
	startGroupMember(t, a.Addr(), groupID, topic, seen, bal...)
	startGroupMember(t, a.Addr(), groupID, topic, seen, bal...)
	waitFor(t, func() bool { return seen.len() > 1500 })
	first.leave()
	<-produced
	waitFor(t, func() bool { return seen.len() == n })
	waitCommittedToEnd(t, adm, groupID, topic)
	if n := assigns.Load(); n < 4 {
		t.Fatalf("%d assignments: the members did not rebalance as they joined and left", n)
	}

	described, err := adm.DescribeGroups(ctx, groupID)
	if err != nil {
		t.Fatal(err)
	}
	g := described[groupID]
	if g.State != "Stable" || len(g.Members) != 2 || g.Protocol != balancer.ProtocolName() {
		t.Fatalf("described %s with %d members, protocol %q", g.State, len(g.Members), g.Protocol)
	}
	assigned := 0
	for _, m := range g.Members {
		ca, ok := m.Assigned.AsConsumer()
		if !ok {
			t.Fatalf("member %s: assignment does not decode", m.MemberID)
		}
		for _, tp := range ca.Topics {
			assigned += len(tp.Partitions)
		}
	}
	if assigned != 6 {
		t.Fatalf("%d partitions assigned, want 6", assigned)
	}
}

func TestGroupChurnEagerRange(t *testing.T) { churn(t, kgo.RangeBalancer()) }

func TestGroupChurnCooperativeSticky(t *testing.T) { churn(t, kgo.CooperativeStickyBalancer()) }

// waitFor polls cond for up to 30 seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// wire is one raw connection for requests at exact versions; kgo would
// pick its own. Each group member in a test gets its own, because a
// parked JoinGroup holds back the answers behind it on its connection.
type wire struct {
	t    *testing.T
	c    net.Conn
	corr int32
	fr   *kmsg.RequestFormatter
}

func dialWire(t *testing.T, a *agenttest.Agent) *wire {
	t.Helper()
	c, err := net.Dial("tcp", a.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &wire{t: t, c: c, fr: kmsg.NewRequestFormatter(kmsg.FormatterClientID("wire-test"))}
}

// send writes req at version v; recv reads its answer.
func (w *wire) send(req kmsg.Request, v int16) {
	w.t.Helper()
	req.SetVersion(v)
	w.corr++
	_ = w.c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := w.c.Write(w.fr.AppendRequest(nil, req, w.corr)); err != nil {
		w.t.Fatal(err)
	}
}

func (w *wire) recv(req kmsg.Request) kmsg.Response {
	w.t.Helper()
	var size [4]byte
	if _, err := io.ReadFull(w.c, size[:]); err != nil {
		w.t.Fatalf("reading answer to api %d: %v", req.Key(), err)
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(w.c, body); err != nil {
		w.t.Fatal(err)
	}
	r := kbin.Reader{Src: body[4:]}
	resp := req.ResponseKind()
	if resp.IsFlexible() {
		for n := r.Uvarint(); n > 0; n-- {
			r.Uvarint()
			r.Span(int(r.Uvarint()))
		}
	}
	if err := resp.ReadFrom(r.Src); err != nil {
		w.t.Fatalf("decoding answer to api %d v%d: %v", req.Key(), req.GetVersion(), err)
	}
	return resp
}

// do sends req at version v and returns its answer.
func do[R kmsg.Response](w *wire, req kmsg.Request, v int16) R {
	w.t.Helper()
	w.send(req, v)
	return w.recv(req).(R)
}

// TestStaticMemberFencedByNewInstance: a consumer restarted with the same
// group.instance.id takes over without a rebalance, and the instance it
// replaced learns from its next heartbeat that it is fenced.
func TestStaticMemberFencedByNewInstance(t *testing.T) {
	a := agenttest.Start(t)
	ctx := testCtx(t)
	topicFor(t, a, "static-topic", 2)
	produced := produceSlowly(t, a.Addr(), "static-topic", 200)
	<-produced
	opts := func() []kgo.Opt {
		return []kgo.Opt{kgo.SeedBrokers(a.Addr()), kgo.ConsumerGroup("static-group"), kgo.ConsumeTopics("static-topic"),
			kgo.InstanceID("instance-1"), kgo.HeartbeatInterval(100 * time.Millisecond),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}
	}
	old, err := kgo.NewClient(opts()...)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	for n := 0; n < 200; {
		fs := old.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("old instance: %v", err)
		}
		n += fs.NumRecords()
	}
	if err := old.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatal(err)
	}

	next, err := kgo.NewClient(opts()...)
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close()
	// The new instance resumes at the commits: nothing left to read until
	// more is produced.
	<-produceSlowly(t, a.Addr(), "static-topic", 10)
	for n := 0; n < 10; {
		fs := next.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("new instance: %v", err)
		}
		n += fs.NumRecords()
		if n > 10 {
			t.Fatalf("new instance read %d records, want the 10 after the commits", n)
		}
	}
	for {
		fs := old.PollFetches(ctx)
		if errors.Is(fs.Err0(), kerr.FencedInstanceID) {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the old instance was never fenced")
		}
	}
}
