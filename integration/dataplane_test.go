package integration

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/integration/testenv"
)

// ack is where a record was acknowledged.
type ack struct {
	partition int32
	offset    int64
}

// ledger records every acknowledged record by its sequence number, which
// the record carries in its first 8 value bytes.
type ledger struct {
	mu    sync.Mutex
	acked map[uint64]ack
	errs  []error
}

func newLedger() *ledger { return &ledger{acked: make(map[uint64]ack)} }

func (l *ledger) record(r *kgo.Record, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.errs = append(l.errs, err)
		return
	}
	l.acked[binary.BigEndian.Uint64(r.Value)] = ack{r.Partition, r.Offset}
}

func (l *ledger) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

// produceN sends n records with sequence numbers from first, waits for
// every acknowledgement, and fails the test on any produce error.
func produceN(ctx context.Context, t testing.TB, cl *kgo.Client, topic string, first, n uint64, valueSize int, l *ledger) {
	t.Helper()
	var wg sync.WaitGroup
	for seq := first; seq < first+n; seq++ {
		v := make([]byte, max(valueSize, 8))
		fillRandom(v[8:], seq)
		binary.BigEndian.PutUint64(v, seq)
		wg.Add(1)
		cl.Produce(ctx, &kgo.Record{Topic: topic, Value: v}, func(r *kgo.Record, err error) {
			defer wg.Done()
			l.record(r, err)
		})
	}
	wg.Wait()
	if len(l.errs) > 0 {
		t.Fatalf("%d produce errors, first: %v", len(l.errs), l.errs[0])
	}
}

// verifyLog consumes topic from the start until every acked record is seen,
// and checks each is at its acked offset, in order, with no gap and no
// duplicate in any partition.
func verifyLog(ctx context.Context, t testing.TB, seeds string, topic string, l *ledger, opts ...kgo.Opt) {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(seeds), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200 * time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	next := map[int32]int64{}
	seen := 0
	want := l.size()
	for seen < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d acked records before the deadline", seen, want)
		}
		fs.EachError(func(_ string, p int32, err error) { t.Fatalf("fetching partition %d: %v", p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset != next[r.Partition] {
				t.Fatalf("partition %d: offset %d follows %d (gap or duplicate)", r.Partition, r.Offset, next[r.Partition]-1)
			}
			next[r.Partition]++
			a, ok := l.acked[binary.BigEndian.Uint64(r.Value)]
			if !ok {
				return // produced but never acked (a crash test); allowed once
			}
			if a.partition != r.Partition || a.offset != r.Offset {
				t.Fatalf("record %d read at %d/%d, acked at %d/%d", binary.BigEndian.Uint64(r.Value), r.Partition, r.Offset, a.partition, a.offset)
			}
			seen++
		})
	}
}

func createTopic(ctx context.Context, t testing.TB, seeds, topic string, partitions int32) {
	t.Helper()
	adm := newAdmin(t, seeds)
	if _, err := adm.CreateTopic(ctx, partitions, 1, nil, topic); err != nil {
		t.Fatalf("creating %s: %v", topic, err)
	}
}

// TestCodecsMillionRecords is the data path's proof: for every codec, an
// idempotent producer sends 1,000,000 records over 24 partitions through a
// real agent, Redis and S3, and every record reads back at the offset it
// was acknowledged with.
func TestCodecsMillionRecords(t *testing.T) {
	if testing.Short() {
		t.Skip("long: 5M records")
	}
	rd := testenv.StartRedis(t)
	s3 := testenv.StartS3(t)
	// Maintenance off: its compaction PUTs are not the write path's, and
	// integration/lifecycle_test.go covers it.
	a := startAgent(t, rd.URL(), s3.URL(), "--maintenance-interval", "0")
	const records = 1_000_000
	codecs := map[string]kgo.CompressionCodec{
		"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(), "snappy": kgo.SnappyCompression(),
		"lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression(),
	}
	for _, name := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			topic := "codec-" + name
			createTopic(ctx, t, a.addr, topic, 24)
			cl, err := kgo.NewClient(kgo.SeedBrokers(a.addr), kgo.ProducerBatchCompression(codecs[name]),
				kgo.RecordPartitioner(kgo.RoundRobinPartitioner()), kgo.MaxBufferedRecords(200_000))
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			l := newLedger()
			start := time.Now()
			produceN(ctx, t, cl, topic, 0, records, 64, l)
			produced := time.Since(start)
			verifyLog(ctx, t, a.addr, topic, l)
			t.Logf("%s: produced %d records in %s, verified in %s", name, records, produced.Round(time.Millisecond), (time.Since(start) - produced).Round(time.Millisecond))
		})
	}
	flushes := a.Metric("sluice_produce_flushes_total")
	// Besides flushes, the only PUTs record the commit count (rollback
	// check). Upload hedging, off by default, would add more.
	uploads := a.Metric("sluice_bucket_operations_total", `operation="upload"`) - a.Metric("sluice_agent_commit_count_records_total")
	t.Logf("flushes %.0f, uploads %.0f", flushes, uploads)
	if flushes == 0 || uploads != flushes {
		t.Errorf("uploads = %.0f for %.0f flushes, want one per flush", uploads, flushes)
	}
	for _, stage := range []string{"queue", "upload", "order", "commit"} {
		if n := a.Metric("sluice_produce_flush_stage_duration_seconds_count", `stage="`+stage+`"`); n != flushes {
			t.Errorf("stage %s timed %.0f times for %.0f flushes, want once each", stage, n, flushes)
		}
	}
}

// TestKillDuringProduce kills the agent with SIGKILL while producers run,
// starts a new one on the same Redis and bucket, and reads every acked
// record at its acked offset.
func TestKillDuringProduce(t *testing.T) {
	rd := testenv.StartRedis(t)
	s3 := testenv.StartS3(t)
	a := startAgent(t, rd.URL(), s3.URL())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	createTopic(ctx, t, a.addr, "crash", 8)

	cl, err := kgo.NewClient(kgo.SeedBrokers(a.addr), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()),
		kgo.RecordRetries(2), kgo.RecordDeliveryTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	l := newLedger()
	var sent atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for seq := uint64(0); ; seq++ {
			select {
			case <-stop:
				return
			default:
			}
			v := make([]byte, 32)
			binary.BigEndian.PutUint64(v, seq)
			sent.Add(1)
			cl.Produce(ctx, &kgo.Record{Topic: "crash", Value: v}, func(r *kgo.Record, err error) {
				if err == nil {
					l.record(r, nil)
				}
			})
			if seq%1000 == 999 {
				time.Sleep(5 * time.Millisecond)
			}
		}
	}()
	for l.size() < 20_000 {
		if ctx.Err() != nil {
			t.Fatalf("only %d acks before the deadline", l.size())
		}
		time.Sleep(10 * time.Millisecond)
	}
	a.Kill()
	close(stop)
	<-done
	cl.Close() // fails what was in flight; those records were never acked
	acked := l.size()
	t.Logf("killed after %d sent, %d acked", sent.Load(), acked)

	b := startAgent(t, rd.URL(), s3.URL())
	verifyLog(ctx, t, b.addr, "crash", l)
}

// fillRandom fills b with bytes that do not compress, so codecs and flush
// sizes see realistic data.
func fillRandom(b []byte, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
}
