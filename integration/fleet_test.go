package integration

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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

// consumeAll reads topic from the start until want records are read, and
// checks that each partition's offsets are dense.
func consumeAll(ctx context.Context, t *testing.T, want int, opts ...kgo.Opt) {
	t.Helper()
	cl, err := kgo.NewClient(append(opts, kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(200*time.Millisecond))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	next := map[int32]int64{}
	for seen := 0; seen < want; {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records before the deadline", seen, want)
		}
		fs.EachError(func(_ string, p int32, err error) { t.Fatalf("fetching partition %d: %v", p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset != next[r.Partition] {
				t.Fatalf("partition %d: offset %d follows %d", r.Partition, r.Offset, next[r.Partition]-1)
			}
			next[r.Partition]++
			seen++
		})
	}
}

// TestFleet runs three agents on one Redis and one bucket: they list each
// other, client traffic spreads over all of them, zone hints keep clients
// on their zone's agents, and while producers and a consumer run without
// pause a fourth agent joins, one drains on SIGTERM and one is killed,
// and every acknowledged record is read back at its offset.
func TestFleet(t *testing.T) {
	rd := testenv.StartRedis(t)
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
	produceN(ctx, t, cl, topic, 0, n, 100, newLedger())
	consumeAll(ctx, t, n, kgo.SeedBrokers(zoneB.addr), kgo.ClientID("ws_az=a"), kgo.ConsumeTopics(topic))
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
// long as the test runs. Between them they must never skip an offset: a
// member that takes over a partition starts at the group's committed
// offset, at or before where the last owner stopped; reading some records
// again is allowed (at least once).
type churnGroup struct {
	read   atomic.Int64
	reread atomic.Int64
	errs   atomic.Int64
	mu     sync.Mutex
	next   map[int32]int64
	bad    string
}

func (c *churnGroup) run(ctx context.Context, cl *kgo.Client) {
	for ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachError(func(string, int32, error) { c.errs.Add(1) })
		c.mu.Lock()
		fs.EachRecord(func(r *kgo.Record) {
			switch next := c.next[r.Partition]; {
			case r.Offset > next && c.bad == "":
				c.bad = fmt.Sprintf("partition %d: offset %d read after %d (a gap)", r.Partition, r.Offset, next-1)
			case r.Offset < next:
				c.reread.Add(1)
				return
			}
			c.next[r.Partition] = r.Offset + 1
			c.read.Add(1)
		})
		c.mu.Unlock()
	}
}

// Idempotent producers and a consumer run while a fourth agent joins, one
// agent drains on SIGTERM and another is killed. Nothing acknowledged is
// lost, offsets stay dense without duplicates, and no producer sees an
// error.
func testFleetChurn(ctx context.Context, t *testing.T, rd *testenv.Redis, s3 *testenv.S3, agents []*agentProc) {
	const topic = "churn"
	createTopic(ctx, t, agents[0].addr, topic, 12)
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
	consumer := churnGroup{next: map[int32]int64{}}
	cctx, stopConsumer := context.WithCancel(ctx)
	var members sync.WaitGroup
	defer func() { stopConsumer(); members.Wait() }()
	for range 2 {
		ccl, err := kgo.NewClient(append(fresh, kgo.ConsumeTopics(topic), kgo.ConsumerGroup("churn-readers"),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))...)
		if err != nil {
			t.Fatal(err)
		}
		defer ccl.Close()
		members.Go(func() { consumer.run(cctx, ccl) })
	}
	coordinator := func() string {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.CoordinatorKey, req.CoordinatorKeys = "churn-readers", []string{"churn-readers"}
		resp, err := req.RequestWith(ctx, clients[0])
		if err != nil {
			return err.Error()
		}
		if len(resp.Coordinators) == 1 {
			c := resp.Coordinators[0]
			return fmt.Sprintf("node %d (%s:%d)", c.NodeID, c.Host, c.Port)
		}
		return fmt.Sprintf("node %d (%s:%d)", resp.NodeID, resp.Host, resp.Port)
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

	drained, killed := agents[1], agents[0]
	start := time.Now()
	if err := drained.Term(fleetDrainTimeout); err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, drained.Logs())
	}
	t.Logf("SIGTERM: exited with code 0 after %s (drain timeout %s)", time.Since(start).Round(time.Millisecond), fleetDrainTimeout)
	progress("one agent drained")

	killed.Kill()
	progress("one agent killed")
	waitFleet(ctx, t, agents[2], joined)
	progress("fleet settled")

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
	consumer.mu.Lock()
	bad := consumer.bad
	consumer.mu.Unlock()
	if bad != "" {
		t.Fatalf("the group reading through the churn: %s", bad)
	}
	t.Logf("churn: %d records sent, all acked; the group read %d (%d again after rebalances), %d fetch errors on the way; coordinator now %s",
		sent.Load(), consumer.read.Load(), consumer.reread.Load(), consumer.errs.Load(), coordinator())
	verifyLog(ctx, t, agents[2].addr, topic, l)
}
