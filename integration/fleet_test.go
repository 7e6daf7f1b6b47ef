package integration

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/integration/testenv"
)

// fleetDrainTimeout is the agents' --drain-timeout in TestFleet.
const fleetDrainTimeout = 10 * time.Second

// startFleetAgent runs an agent of zone with heartbeats fast enough that a
// crashed agent drops out within about a second.
func startFleetAgent(t *testing.T, rd *testenv.Redis, s3 *testenv.S3, zone string) *agentProc {
	t.Helper()
	return startAgent(t, rd.URL(), s3.URL(), "--zone", zone,
		"--heartbeat-interval", "200ms", "--heartbeat-ttl", "1s",
		"--drain-timeout", fleetDrainTimeout.String())
}

// metadataFrom asks the agent at addr, and only it, for the metadata of
// every topic, as a client with clientID.
func metadataFrom(ctx context.Context, t *testing.T, addr, clientID string) *kmsg.MetadataResponse {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ClientID(clientID))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	resp, err := cl.SeedBrokers()[0].Request(ctx, kmsg.NewPtrMetadataRequest())
	if err != nil {
		t.Fatalf("metadata from %s: %v", addr, err)
	}
	return resp.(*kmsg.MetadataResponse)
}

// brokerAddrs are the addresses a Metadata answer lists, by node id.
func brokerAddrs(resp *kmsg.MetadataResponse) map[int32]string {
	m := map[int32]string{}
	for _, b := range resp.Brokers {
		m[b.NodeID] = net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port)))
	}
	return m
}

// waitFleet waits until every agent lists exactly the agents given.
func waitFleet(ctx context.Context, t *testing.T, agents ...*agentProc) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for _, a := range agents {
		for {
			listed := map[string]bool{}
			for _, addr := range brokerAddrs(metadataFrom(ctx, t, a.addr, "")) {
				listed[addr] = true
			}
			all := len(listed) == len(agents)
			for _, b := range agents {
				all = all && listed[b.addr]
			}
			if all {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("agent %s lists %v, want the %d agents running", a.addr, listed, len(agents))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// apiCounts is each agent's count of answered Produce and Fetch requests.
type apiCounts map[*agentProc][2]float64

func countRequests(agents ...*agentProc) apiCounts {
	c := apiCounts{}
	for _, a := range agents {
		c[a] = [2]float64{
			a.Metric("sluice_agent_requests_total", `api="Produce"`),
			a.Metric("sluice_agent_requests_total", `api="Fetch"`),
		}
	}
	return c
}

// since is the count of requests each agent answered after before.
func (c apiCounts) since(before apiCounts) apiCounts {
	d := apiCounts{}
	for a, n := range c {
		d[a] = [2]float64{n[0] - before[a][0], n[1] - before[a][1]}
	}
	return d
}

// TestFleet runs three agents on one Redis and one bucket: they list each
// other, client traffic spreads over all of them, zone hints keep clients
// on their zone's agents, and while producers and a consumer run without
// pause a fourth agent joins, one drains on SIGTERM and one is killed,
// and every acknowledged record is read back at its offset.
func TestFleet(t *testing.T) {
	rd := testenv.StartRedis(t, testenv.WithAOF())
	s3 := testenv.StartS3(t)
	agents := []*agentProc{
		startFleetAgent(t, rd, s3, "a"),
		startFleetAgent(t, rd, s3, "a"),
		startFleetAgent(t, rd, s3, "b"),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	waitFleet(ctx, t, agents...)

	t.Run("ListsEveryAgent", func(t *testing.T) { testFleetLists(ctx, t, agents) })
	t.Run("TrafficSpreads", func(t *testing.T) { testFleetSpreads(ctx, t, agents) })
	t.Run("ZoneHints", func(t *testing.T) { testFleetZones(ctx, t, agents) })
	t.Run("Churn", func(t *testing.T) { testFleetChurn(ctx, t, rd, s3, agents) })
}

// Each agent lists the same three agents, under distinct node ids.
func testFleetLists(ctx context.Context, t *testing.T, agents []*agentProc) {
	want := brokerAddrs(metadataFrom(ctx, t, agents[0].addr, ""))
	for _, a := range agents {
		got := brokerAddrs(metadataFrom(ctx, t, a.addr, ""))
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("agent %s lists %v; agent %s lists %v", a.addr, got, agents[0].addr, want)
		}
		ids := map[string]int32{}
		for id, addr := range got {
			if prev, dup := ids[addr]; dup {
				t.Errorf("%s listed as node %d and %d", addr, prev, id)
			}
			ids[addr] = id
		}
		if len(got) != 3 {
			t.Errorf("agent %s lists %d agents, want 3", a.addr, len(got))
		}
	}
	t.Logf("node ids: %v", want)
}

// Producers and consumers that know only one agent each still send their
// Produce and Fetch requests to all three.
func testFleetSpreads(ctx context.Context, t *testing.T, agents []*agentProc) {
	const topic = "spread"
	createTopic(ctx, t, agents[0].addr, topic, 24)
	before := countRequests(agents...)
	l := newLedger()
	var wg sync.WaitGroup
	for i, a := range agents {
		cl, err := kgo.NewClient(kgo.SeedBrokers(a.addr), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		wg.Go(func() { produceN(ctx, t, cl, topic, uint64(i)*10_000, 10_000, 100, l) })
	}
	wg.Wait()
	for _, a := range agents {
		verifyLog(ctx, t, a.addr, topic, l)
	}
	d := countRequests(agents...).since(before)
	for i, a := range agents {
		t.Logf("agent %d (%s): %.0f Produce, %.0f Fetch", i, a.addr, d[a][0], d[a][1])
		if d[a][0] == 0 || d[a][1] == 0 {
			t.Errorf("agent %d answered %.0f Produce and %.0f Fetch requests, want some of each", i, d[a][0], d[a][1])
		}
	}
}

// Clients that name zone a, even bootstrapped through the zone-b agent,
// send every Produce and Fetch to zone-a agents.
func testFleetZones(ctx context.Context, t *testing.T, agents []*agentProc) {
	const topic = "zoned"
	zoneA, zoneB := agents[:2], agents[2]
	createTopic(ctx, t, zoneB.addr, topic, 24)
	for _, hint := range []string{"sluice_az=a", "ws_az=a", "app,warpstream_az=a", "diskless_az=a", "automq_az=a"} {
		listed := brokerAddrs(metadataFrom(ctx, t, zoneB.addr, hint))
		if len(listed) != 2 {
			t.Errorf("client id %q: zone-b agent lists %v, want the 2 zone-a agents", hint, listed)
		}
		for _, addr := range listed {
			if addr == zoneB.addr {
				t.Errorf("client id %q: zone-b agent lists itself", hint)
			}
		}
	}
	if listed := brokerAddrs(metadataFrom(ctx, t, zoneA[0].addr, "sluice_az=c")); len(listed) != 3 {
		t.Errorf("client in a zone without agents is told of %v, want all 3", listed)
	}

	before := countRequests(agents...)
	cl, err := kgo.NewClient(kgo.SeedBrokers(zoneB.addr), kgo.ClientID("sluice_az=a"),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	const n = 20_000
	l := newLedger()
	produceN(ctx, t, cl, topic, 0, n, 100, l)
	verifyLog(ctx, t, zoneB.addr, topic, l, kgo.ClientID("ws_az=a"))
	d := countRequests(agents...).since(before)
	for i, a := range agents {
		t.Logf("zone-a clients: agent %d (%s): %.0f Produce, %.0f Fetch", i, a.addr, d[a][0], d[a][1])
	}
	if d[zoneB][0] != 0 || d[zoneB][1] != 0 {
		t.Errorf("zone-b agent answered %.0f Produce and %.0f Fetch requests of zone-a clients", d[zoneB][0], d[zoneB][1])
	}
	for i, a := range zoneA {
		if d[a][0] == 0 || d[a][1] == 0 {
			t.Errorf("zone-a agent %d answered %.0f Produce and %.0f Fetch requests, want some of each", i, d[a][0], d[a][1])
		}
	}
}

// churnGroup is the members of one consumer group reading the topic for as
// long as the test runs. Each member commits what it read before it polls
// again or lets a rebalance go on, retrying the commit through the fleet's
// changes, so between them they must read every record exactly once: a
// member that takes over a partition starts at the group's committed
// offset, which is where the last owner stopped.
type churnGroup struct {
	read atomic.Int64
	errs atomic.Int64
	mu   sync.Mutex
	next map[int32]int64
	seqs map[uint64]ack // what was read: sequence number -> where
	bad  string
}

func (c *churnGroup) fail(format string, args ...any) {
	if c.bad == "" {
		c.bad = fmt.Sprintf(format, args...)
	}
}

func (c *churnGroup) run(ctx context.Context, cl *kgo.Client) {
	for ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachError(func(string, int32, error) { c.errs.Add(1) })
		c.mu.Lock()
		fs.EachRecord(func(r *kgo.Record) {
			if next := c.next[r.Partition]; r.Offset != next {
				c.fail("partition %d: offset %d read after %d", r.Partition, r.Offset, next-1)
			}
			seq := binary.BigEndian.Uint64(r.Value)
			if at, ok := c.seqs[seq]; ok {
				c.fail("record %d read twice, at %d/%d and %d/%d", seq, at.partition, at.offset, r.Partition, r.Offset)
			}
			c.seqs[seq] = ack{r.Partition, r.Offset}
			c.next[r.Partition] = r.Offset + 1
			c.read.Add(1)
		})
		c.mu.Unlock()
		c.commit(ctx, cl)
		cl.AllowRebalance()
	}
}

// commit commits what was polled, retrying while the coordinator moves.
// Only a fenced generation gives up, and then the next owner reads the
// records again, which the checker reports.
func (c *churnGroup) commit(ctx context.Context, cl *kgo.Client) {
	for ctx.Err() == nil {
		err := cl.CommitUncommittedOffsets(ctx)
		if err == nil || errors.Is(err, kerr.IllegalGeneration) || errors.Is(err, kerr.UnknownMemberID) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// check compares what the group read with what producers were told.
func (c *churnGroup) check(l *ledger) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.bad != "" {
		return c.bad
	}
	for seq, a := range l.acked {
		if got, ok := c.seqs[seq]; !ok || got != a {
			return fmt.Sprintf("record %d acked at %d/%d, read at %+v (read: %v)", seq, a.partition, a.offset, got, ok)
		}
	}
	if len(c.seqs) != len(l.acked) {
		return fmt.Sprintf("read %d records, %d acked", len(c.seqs), len(l.acked))
	}
	return ""
}

// committedWatch polls the group's committed offsets and reports the first
// that went backwards.
type committedWatch struct {
	mu   sync.Mutex
	max  map[int32]int64
	bad  string
	done chan struct{}
}

func watchCommitted(ctx context.Context, adm *kadm.Client, group string) *committedWatch {
	w := &committedWatch{max: map[int32]int64{}, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for ctx.Err() == nil {
			offs, err := adm.FetchOffsets(ctx, group)
			if err == nil {
				w.mu.Lock()
				offs.Each(func(o kadm.OffsetResponse) {
					if o.At < w.max[o.Partition] && w.bad == "" {
						w.bad = fmt.Sprintf("partition %d: committed offset went back from %d to %d", o.Partition, w.max[o.Partition], o.At)
					}
					w.max[o.Partition] = max(w.max[o.Partition], o.At)
				})
				w.mu.Unlock()
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	return w
}

// Idempotent producers and a consumer group run while a fourth agent
// joins, one agent drains on SIGTERM, another is killed and redis-server
// (append-only, fsync always) restarts. Nothing acknowledged is lost,
// offsets stay dense without duplicates, the group reads every record
// exactly once at its acknowledged offset and its commits never go back,
// and no producer sees an error.
func testFleetChurn(ctx context.Context, t *testing.T, rd *testenv.Redis, s3 *testenv.S3, agents []*agentProc) {
	const topic, group = "churn", "churn-readers"
	// 24 partitions: the joining agent leads about a quarter of them, and
	// some with near certainty.
	createTopic(ctx, t, agents[0].addr, topic, 24)
	seeds := kgo.SeedBrokers(agents[0].addr, agents[1].addr, agents[2].addr)
	// Clients reread metadata often, as they would after a few minutes,
	// so that they find the new agent within the test.
	fresh := []kgo.Opt{seeds, kgo.MetadataMinAge(100 * time.Millisecond), kgo.MetadataMaxAge(time.Second)}

	l := newLedger()
	var sent atomic.Uint64
	pctx, stopProducers := context.WithCancel(ctx)
	var producers sync.WaitGroup
	var clients []*kgo.Client
	for i := range 3 {
		cl, err := kgo.NewClient(append(fresh, kgo.RecordPartitioner(kgo.RoundRobinPartitioner()),
			kgo.RecordDeliveryTimeout(30*time.Second))...)
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		clients = append(clients, cl)
		producers.Go(func() {
			for seq := uint64(i) << 40; pctx.Err() == nil; seq++ {
				v := make([]byte, 64)
				binary.BigEndian.PutUint64(v, seq)
				sent.Add(1)
				cl.Produce(ctx, &kgo.Record{Topic: topic, Value: v}, l.record)
				if seq%200 == 199 {
					time.Sleep(20 * time.Millisecond) // about 10,000 records/s per producer
				}
			}
		})
	}
	consumer := churnGroup{next: map[int32]int64{}, seqs: map[uint64]ack{}}
	cctx, stopConsumer := context.WithCancel(ctx)
	var members sync.WaitGroup
	defer func() { stopConsumer(); members.Wait() }()
	for range 2 {
		ccl, err := kgo.NewClient(append(fresh, kgo.ConsumeTopics(topic), kgo.ConsumerGroup(group),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond),
			kgo.DisableAutoCommit(), kgo.BlockRebalanceOnPoll(),
			kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, _ map[string][]int32) {
				consumer.commit(ctx, cl)
			}))...)
		if err != nil {
			t.Fatal(err)
		}
		defer ccl.Close()
		members.Go(func() { consumer.run(cctx, ccl) })
	}
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	acl, err := kgo.NewClient(fresh...)
	if err != nil {
		t.Fatal(err)
	}
	defer acl.Close()
	watch := watchCommitted(wctx, kadm.NewClient(acl), group)
	// coordinator is the address of the group's coordinator, or an error.
	coordinator := func() string {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.CoordinatorKey, req.CoordinatorKeys = group, []string{group}
		resp, err := req.RequestWith(ctx, clients[0])
		if err != nil {
			return err.Error()
		}
		host, port := resp.Host, resp.Port
		if len(resp.Coordinators) == 1 {
			host, port = resp.Coordinators[0].Host, resp.Coordinators[0].Port
		}
		return net.JoinHostPort(host, strconv.Itoa(int(port)))
	}
	t.Logf("group coordinator before the churn: %s", coordinator())

	// progress waits until both producers and consumer move on.
	progress := func(step string) {
		t.Helper()
		acked, read := l.size(), consumer.read.Load()
		for deadline := time.Now().Add(15 * time.Second); l.size() < acked+2000 || consumer.read.Load() < read+2000; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: acks %d -> %d, reads %d -> %d in 15s", step, acked, l.size(), read, consumer.read.Load())
			}
		}
		t.Logf("%s: %d acked, %d read", step, l.size(), consumer.read.Load())
	}
	progress("started")

	joined := startFleetAgent(t, rd, s3, "b")
	before := countRequests(joined)
	waitFleet(ctx, t, append(agents, joined)...)
	progress("4th agent joined")
	for deadline := time.Now().Add(10 * time.Second); countRequests(joined).since(before)[joined][0] == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the new agent got no Produce request within 10s")
		}
	}

	drained := agents[1]
	start := time.Now()
	if err := drained.Term(fleetDrainTimeout); err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, drained.Logs())
	}
	t.Logf("SIGTERM: exited with code 0 after %s (drain timeout %s)", time.Since(start).Round(time.Millisecond), fleetDrainTimeout)
	progress("one agent drained")

	// The killed agent is the group's coordinator, if one of the three
	// left is, so that the group moves too.
	var killed *agentProc
	var survivors []*agentProc
	coord := coordinator()
	for _, a := range []*agentProc{agents[0], agents[2], joined} {
		if killed == nil && a.addr == coord {
			killed = a
		} else {
			survivors = append(survivors, a)
		}
	}
	if killed == nil {
		killed, survivors = survivors[0], survivors[1:]
	}
	killed.Kill()
	progress(fmt.Sprintf("one agent killed (coordinator %s, killed %s)", coord, killed.addr))
	waitFleet(ctx, t, survivors...)
	progress("fleet settled")

	rd.Restart(t)
	progress("redis-server restarted")

	stopProducers()
	producers.Wait()
	for _, cl := range clients {
		if err := cl.Flush(ctx); err != nil {
			t.Fatalf("flushing: %v", err)
		}
	}
	l.mu.Lock()
	errs := l.errs
	l.mu.Unlock()
	if len(errs) > 0 {
		t.Fatalf("%d of %d produces failed, first: %v", len(errs), sent.Load(), errs[0])
	}
	for deadline := time.Now().Add(30 * time.Second); consumer.read.Load() < int64(l.size()); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the group read %d of %d acked records", consumer.read.Load(), l.size())
		}
	}
	stopConsumer()
	members.Wait()
	stopWatch()
	<-watch.done
	if bad := consumer.check(l); bad != "" {
		t.Fatalf("the group reading through the churn: %s", bad)
	}
	if watch.bad != "" {
		t.Fatal(watch.bad)
	}
	t.Logf("churn: %d records sent, all acked; the group read each once, with %d fetch errors on the way; coordinator now %s",
		sent.Load(), consumer.errs.Load(), coordinator())
	verifyLog(ctx, t, survivors[0].addr, topic, l)
}
