package bench

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// valueHeader is the start of every record value: the time it was produced
// (Unix nanoseconds, big-endian), from which the consumer computes the
// end-to-end latency. The rest is random, so compression would gain nothing.
const valueHeader = 8

// counter counts records and their value bytes.
type counter struct{ records, bytes atomic.Int64 }

func (c *counter) add(n int) {
	c.records.Add(1)
	c.bytes.Add(int64(n))
}

func (c *counter) load() (records, bytes int64) { return c.records.Load(), c.bytes.Load() }

func acksOpts(acks string) ([]kgo.Opt, error) {
	switch acks {
	case "all", "-1":
		return []kgo.Opt{kgo.RequiredAcks(kgo.AllISRAcks())}, nil
	case "1":
		return []kgo.Opt{kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite()}, nil
	case "0":
		return []kgo.Opt{kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite()}, nil
	}
	return nil, fmt.Errorf("--acks %q: want all, 1 or 0", acks)
}

// producers are the producer clients of one load. Records are uncompressed
// and spread by franz-go's default partitioner; everything else is franz-go's
// defaults too (10ms linger, 5 requests in flight when idempotent).
type producers struct {
	clients []*kgo.Client
	size    int
	values  sync.Pool // *[]byte of size, random after the header
	acked   counter
	failed  atomic.Int64
	lat     atomic.Pointer[latencies]
}

func newProducers(seeds, topic string, cfg Config) (*producers, error) {
	opts, err := acksOpts(cfg.Acks)
	if err != nil {
		return nil, err
	}
	opts = append(opts, kgo.SeedBrokers(seeds), kgo.DefaultProduceTopic(topic),
		kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.RecordDeliveryTimeout(time.Minute))
	p := &producers{size: cfg.RecordSize}
	p.values.New = func() any {
		v := make([]byte, p.size)
		_, _ = rand.Read(v[valueHeader:])
		return &v
	}
	p.lat.Store(new(latencies))
	for range cfg.Producers {
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			p.close()
			return nil, fmt.Errorf("creating producer: %w", err)
		}
		p.clients = append(p.clients, cl)
	}
	return p, nil
}

func (p *producers) close() {
	for _, cl := range p.clients {
		cl.Close()
	}
}

// produceOne sends one record stamped with the time now; its answer is
// counted and its latency recorded in the histogram of the current phase.
func (p *producers) produceOne(ctx context.Context, cl *kgo.Client) {
	vp := p.values.Get().(*[]byte)
	v := *vp
	sent := time.Now()
	binary.BigEndian.PutUint64(v, uint64(sent.UnixNano()))
	lat := p.lat.Load()
	cl.Produce(ctx, &kgo.Record{Value: v}, func(_ *kgo.Record, err error) {
		if err != nil {
			p.failed.Add(1)
		} else {
			lat.record(time.Since(sent))
			p.acked.add(len(v))
		}
		p.values.Put(vp)
	})
}

// loop produces on cl until deadline at rate records per second, or as
// fast as the client takes records when rate is 0 (Produce blocks once
// franz-go's buffer of unanswered records is full).
func (p *producers) loop(ctx context.Context, cl *kgo.Client, deadline time.Time, rate float64) {
	began := time.Now()
	var sent int64
	for now := began; now.Before(deadline) && ctx.Err() == nil; now = time.Now() {
		if rate > 0 && sent >= int64(now.Sub(began).Seconds()*rate) {
			time.Sleep(time.Millisecond)
			continue
		}
		p.produceOne(ctx, cl)
		sent++
	}
}

// Phase is one timed stretch of produce load and the consumers' view of it.
type Phase struct {
	Seconds       float64 `json:"seconds"`
	TargetRate    float64 `json:"target_records_per_sec,omitempty"`
	Records       int64   `json:"records"`
	MBps          float64 `json:"produce_mb_per_sec"`
	RecordsPerSec float64 `json:"produce_records_per_sec"`
	Failed        int64   `json:"failed_records"`
	Produce       Latency `json:"produce_latency"`
	EndToEnd      Latency `json:"end_to_end_latency"`
	ConsumeMBps   float64 `json:"tail_consume_mb_per_sec"`
	// CatchUpSeconds is how long the consumers needed after the phase to
	// read every answered record; -1 if they had not within the limit.
	CatchUpSeconds float64 `json:"catch_up_seconds"`
}

// run produces for d at rate (records per second over all producers, 0 for
// as fast as possible), with cons reading at the tail. Throughput counts
// what was answered within d; latencies include the records answered while
// the buffers drain afterwards.
func (p *producers) run(ctx context.Context, prog *progress, name string, d time.Duration, rate float64, cons *consumers) (Phase, error) {
	lat := new(latencies)
	p.lat.Store(lat)
	e2e := cons.measure()
	r0, b0 := p.acked.load()
	c0 := cons.read.bytes.Load()
	f0 := p.failed.Load()
	began := time.Now()
	stop := prog.phase(name, d, func(el time.Duration) string {
		r, b := p.acked.load()
		return fmt.Sprintf("produce %7.1f MB/s %8.0f rec/s  consume %7.1f MB/s  p99 %6.0fms  failed %d",
			mbps(b-b0, el), float64(r-r0)/el.Seconds(), mbps(cons.read.bytes.Load()-c0, el),
			float64(lat.quantile(0.99))/1e6, p.failed.Load()-f0)
	})
	defer stop()
	deadline := began.Add(d)
	var wg sync.WaitGroup
	for _, cl := range p.clients {
		wg.Go(func() { p.loop(ctx, cl, deadline, rate/float64(len(p.clients))) })
	}
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
	r1, b1 := p.acked.load()
	c1 := cons.read.bytes.Load()
	wg.Wait()
	fctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for _, cl := range p.clients {
		if err := cl.Flush(fctx); err != nil {
			return Phase{}, fmt.Errorf("%s: waiting for the last answers: %w", name, err)
		}
	}
	stop()
	return Phase{
		Seconds: d.Seconds(), TargetRate: rate, Records: r1 - r0,
		MBps: mbps(b1-b0, d), RecordsPerSec: float64(r1-r0) / d.Seconds(),
		Failed: p.failed.Load() - f0, Produce: lat.summary(), EndToEnd: e2e.summary(),
		ConsumeMBps: mbps(c1-c0, d),
	}, ctx.Err()
}

// consumers are the consumer clients of one load, each reading its share of
// the partitions (partition i goes to consumer i mod n) without a group.
type consumers struct {
	clients []*kgo.Client
	read    counter
	errs    atomic.Int64
	lat     atomic.Pointer[latencies] // nil: latency is not measured
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// startConsumers reads topic from the offsets in from. With until set, each
// consumer stops once its partitions reach those offsets.
func startConsumers(ctx context.Context, seeds, topic string, n int, from, until map[int32]int64) (*consumers, error) {
	ctx, cancel := context.WithCancel(ctx)
	c := &consumers{cancel: cancel}
	for i := range n {
		offsets := map[int32]kgo.Offset{}
		left := map[int32]int64{}
		for p, off := range from {
			if int(p)%n != i {
				continue
			}
			offsets[p] = kgo.NewOffset().At(off)
			if end, ok := until[p]; ok && end > off {
				left[p] = end
			}
		}
		// The Java consumer's fetch.max.wait.ms, not franz-go's 5s: with
		// that, no long poll finished inside the idle window, which then
		// counted no tail Fetch to divide its Redis commands by.
		cl, err := kgo.NewClient(kgo.SeedBrokers(seeds), kgo.FetchMaxWait(500*time.Millisecond),
			kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offsets}))
		if err != nil {
			c.stop()
			return nil, fmt.Errorf("creating consumer: %w", err)
		}
		c.clients = append(c.clients, cl)
		if until != nil && len(left) == 0 {
			continue
		}
		c.wg.Go(func() { c.poll(ctx, cl, left, until != nil) })
	}
	return c, nil
}

// measure starts a new end-to-end latency histogram and returns it.
func (c *consumers) measure() *latencies {
	l := new(latencies)
	c.lat.Store(l)
	return l
}

// poll reads until ctx ends or, when bounded, every partition in left has
// reached its end offset.
func (c *consumers) poll(ctx context.Context, cl *kgo.Client, left map[int32]int64, bounded bool) {
	for ctx.Err() == nil && (!bounded || len(left) > 0) {
		fs := cl.PollFetches(ctx)
		now := time.Now().UnixNano()
		lat := c.lat.Load()
		fs.EachError(func(_ string, _ int32, err error) {
			if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				c.errs.Add(1)
			}
		})
		fs.EachRecord(func(r *kgo.Record) {
			c.read.add(len(r.Value))
			if lat != nil && len(r.Value) >= valueHeader {
				lat.record(time.Duration(now - int64(binary.BigEndian.Uint64(r.Value))))
			}
			if end, ok := left[r.Partition]; ok && r.Offset+1 >= end {
				delete(left, r.Partition)
			}
		})
	}
}

// catchUp waits until the consumers have read n records, for at most
// limit, so that one phase's backlog does not count in the next one's
// latencies. It returns the seconds waited, or -1 at the limit.
func (c *consumers) catchUp(ctx context.Context, prog *progress, name string, n int64, limit time.Duration) float64 {
	began := time.Now()
	stop := prog.phase(name, limit, func(time.Duration) string {
		return fmt.Sprintf("%d records behind", n-c.read.records.Load())
	})
	defer stop()
	for c.read.records.Load() < n {
		if time.Since(began) > limit || ctx.Err() != nil {
			return -1
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(began).Seconds()
}

// wait returns once bounded consumers are done or ctx ends.
func (c *consumers) wait() { c.wg.Wait() }

func (c *consumers) stop() {
	c.cancel()
	c.wg.Wait()
	for _, cl := range c.clients {
		cl.Close()
	}
}
