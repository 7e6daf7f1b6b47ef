package produce

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sluicehq/sluice/metadata"
)

func testConfig() Config {
	return Config{
		FlushInterval: 250 * time.Millisecond,
		FlushBytes:    1 << 20,
		BufferBytes:   4 << 20,
		Uploads:       2,
		UploadTimeout: time.Second,
		CommitTimeout: time.Second,
	}
}

func batch(partition int32, size int) Batch {
	return Batch{
		Topic:      "t",
		Partition:  metadata.Partition{Index: partition},
		Data:       make([]byte, size),
		Records:    1,
		ProducerID: metadata.NoProducer,
	}
}

// run starts b and returns a func that stops it and waits.
func run(t *testing.T, b *Buffer) func() {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = b.Run(ctx) }()
	return func() { cancel(); <-done }
}

type answer struct {
	results []metadata.BatchResult
	err     error
}

func appendWait(t *testing.T, b *Buffer, batches ...Batch) chan answer {
	t.Helper()
	ch := make(chan answer, 1)
	if err := b.Append(context.Background(), batches, 0, func(r []metadata.BatchResult, err error) {
		ch <- answer{r, err}
	}); err != nil {
		t.Fatalf("Append: %v", err)
	}
	return ch
}

func TestOnePutPerFlushAcrossPartitionsAndProducers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bk, lg := &fakeBucket{}, &fakeLog{}
		b := New(testConfig(), Deps{Bucket: bk, Log: lg, NewKey: keys()})
		stop := run(t, b)
		defer stop()

		var answers []chan answer
		for producer := range 10 {
			for p := range int32(24) {
				_ = producer
				answers = append(answers, appendWait(t, b, batch(p, 100)))
			}
		}
		time.Sleep(300 * time.Millisecond)
		synctest.Wait()
		for _, ch := range answers {
			a := <-ch
			if a.err != nil {
				t.Fatalf("answer: %v", a.err)
			}
		}
		if got := bk.count(); got != 1 {
			t.Errorf("uploads = %d, want 1 for 240 batches in one flush interval", got)
		}
		if got := lg.count(); got != 1 {
			t.Errorf("commits = %d, want 1", got)
		}
	})
}

func TestNoAnswerBeforeCommit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bk, lg := &fakeBucket{block: make(chan struct{})}, &fakeLog{}
		b := New(testConfig(), Deps{Bucket: bk, Log: lg, NewKey: keys()})
		stop := run(t, b)
		defer stop()

		ch := appendWait(t, b, batch(0, 10))
		time.Sleep(time.Second) // well past the flush interval
		synctest.Wait()
		select {
		case <-ch:
			t.Fatal("answered while the upload was still running")
		default:
		}
		close(bk.block)
		synctest.Wait()
		a := <-ch
		if a.err != nil || a.results[0].BaseOffset != 0 {
			t.Fatalf("answer = %+v", a)
		}
	})
}

func TestFlushOnSize(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bk, lg := &fakeBucket{}, &fakeLog{}
		cfg := testConfig()
		cfg.FlushBytes = 1000
		b := New(cfg, Deps{Bucket: bk, Log: lg, NewKey: keys()})
		stop := run(t, b)
		defer stop()

		ch := appendWait(t, b, batch(0, 600), batch(1, 600))
		synctest.Wait() // no time passes: only the size can have flushed
		if a := <-ch; a.err != nil {
			t.Fatal(a.err)
		}
		if bk.count() != 1 {
			t.Fatalf("uploads = %d, want 1", bk.count())
		}
	})
}

func TestFailedUploadFailsLaterSealedFlushes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The first sealed flush's upload fails, whichever upload runs first.
		bk := &fakeBucket{failNext: errors.New("S3 down"), failKey: "ingest/000001", block: make(chan struct{})}
		lg := &fakeLog{}
		cfg := testConfig()
		cfg.FlushBytes = 10
		b := New(cfg, Deps{Bucket: bk, Log: lg, NewKey: keys()})
		stop := run(t, b)
		defer stop()

		first := appendWait(t, b, batch(0, 10))  // sealed, upload blocked, will fail
		second := appendWait(t, b, batch(0, 10)) // sealed behind it
		synctest.Wait()
		close(bk.block)
		synctest.Wait()
		for i, ch := range []chan answer{first, second} {
			if a := <-ch; !errors.Is(a.err, ErrFlushFailed) {
				t.Fatalf("flush %d: err = %v, want ErrFlushFailed", i, a.err)
			}
		}
		if lg.count() != 0 {
			t.Fatalf("commits = %d, want none after the failure", lg.count())
		}
		// A flush sealed after the failure was seen commits normally.
		third := appendWait(t, b, batch(0, 10))
		synctest.Wait()
		if a := <-third; a.err != nil || a.results[0].BaseOffset != 0 {
			t.Fatalf("third = %+v", a)
		}
	})
}

func TestUploadedGetsEachObjectBeforeItsCommit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bk := &fakeBucket{failNext: errors.New("S3 down"), failKey: "ingest/000001"}
		lg := &fakeLog{}
		cfg := testConfig()
		cfg.FlushBytes = 10
		seen := map[string]int{} // key -> commits made when it was handed over
		var objects, copies [][]byte
		b := New(cfg, Deps{Bucket: bk, Log: lg, NewKey: keys(), Uploaded: func(key string, object []byte, _ func([]byte)) bool {
			seen[key] = lg.count()
			objects, copies = append(objects, object), append(copies, bytes.Clone(object))
			return true
		}})
		stop := run(t, b)
		defer stop()

		<-appendWait(t, b, batch(0, 10)) // its upload fails
		for p := range int32(2) {
			if a := <-appendWait(t, b, batch(p, 10)); a.err != nil {
				t.Fatalf("flush of partition %d: %v", p, a.err)
			}
		}
		if _, ok := seen["ingest/000001"]; ok {
			t.Error("Uploaded was handed an object whose upload failed")
		}
		if n, ok := seen["ingest/000003"]; !ok || n != 1 {
			t.Errorf("Uploaded for the third object: called %v, after %d commits; want before its commit", ok, n)
		}
		// A kept buffer is never reused: each object is intact after the flushes that followed it.
		if len(objects) != 2 {
			t.Fatalf("Uploaded got %d objects, want 2", len(objects))
		}
		for i := range objects {
			if !bytes.Equal(objects[i], copies[i]) {
				t.Errorf("object %d changed after Uploaded kept it", i)
			}
		}
	})
}

// A flush far smaller than its buffer is handed over as a copy its size,
// so that the cache, which counts capacity, is not filled by small flushes
// of low load; the buffer itself is reused.
func TestUploadedGetsSmallFlushesAsCopies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bk, lg := &fakeBucket{}, &fakeLog{}
		var got [][]byte
		var recycles []bool
		b := New(testConfig(), Deps{Bucket: bk, Log: lg, NewKey: keys(), Uploaded: func(key string, object []byte, recycle func([]byte)) bool {
			got, recycles = append(got, object), append(recycles, recycle != nil)
			return true
		}})
		stop := run(t, b)
		defer stop()
		for range 2 {
			if a := <-appendWait(t, b, batch(0, 10)); a.err != nil {
				t.Fatal(a.err)
			}
		}
		if len(got) != 2 {
			t.Fatalf("Uploaded got %d objects, want 2", len(got))
		}
		for i, obj := range got {
			if cap(obj) > 2*len(obj) || recycles[i] {
				t.Errorf("object %d: %d bytes handed over in %d, recycle %v; want a copy its size", i, len(obj), cap(obj), recycles[i])
			}
		}
	})
}

// A cache that evicts an older object while it keeps a new one, unread,
// hands its buffer back, and the next flush encodes into it: with every
// upload slot busy, producing with no reader at the tail had allocated a
// new object buffer per flush.
func TestEvictedObjectBuffersAreReused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bk, lg := &fakeBucket{}, &fakeLog{}
		cfg := testConfig()
		cfg.Uploads = 1
		var prev []byte
		buffers := map[*byte]bool{}
		b := New(cfg, Deps{Bucket: bk, Log: lg, NewKey: keys(), Uploaded: func(key string, object []byte, recycle func([]byte)) bool {
			buffers[&object[:1][0]] = true
			if prev != nil {
				recycle(prev) // the cache has room for one object
			}
			prev = object
			return true
		}})
		stop := run(t, b)
		defer stop()
		for range 6 {
			if a := <-appendWait(t, b, batch(0, int(cfg.FlushBytes))); a.err != nil {
				t.Fatal(a.err)
			}
		}
		if len(buffers) != 2 {
			t.Errorf("6 flushes were encoded into %d buffers, want 2: the kept one and the one the cache let go", len(buffers))
		}
	})
}

// The defaults keep one PUT per flush (design §5): a hedge, a second PUT
// beside a straggling one, is the operator's choice.
func TestDefaultsDoNotHedge(t *testing.T) {
	var cfg Config
	cfg.RegisterFlags("", flag.NewFlagSet("produce", flag.PanicOnError))
	bk := &fakeBucket{}
	if b := New(cfg, Deps{Bucket: bk, Log: &fakeLog{}, NewKey: keys()}); b.deps.Bucket != bk {
		t.Errorf("uploads go through %T with the default flags, want the bucket itself", b.deps.Bucket)
	}
	cfg.UploadHedges = 0.05
	if b := New(cfg, Deps{Bucket: bk, Log: &fakeLog{}, NewKey: keys()}); b.deps.Bucket == bk {
		t.Error("uploads go straight to the bucket with --upload-hedges set, want a hedger")
	}
}

func TestFailedCommitAnswersRetriable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bk, lg, orphans := &fakeBucket{}, &fakeLog{failNext: context.DeadlineExceeded}, &fakeOrphans{}
		b := New(testConfig(), Deps{Bucket: bk, Log: lg, NewKey: keys(), Orphans: orphans})
		stop := run(t, b)
		defer stop()
		ch := appendWait(t, b, batch(0, 10))
		time.Sleep(time.Second)
		synctest.Wait()
		if a := <-ch; !errors.Is(a.err, ErrFlushFailed) {
			t.Fatalf("err = %v, want ErrFlushFailed", a.err)
		}
		if bk.count() != 1 {
			t.Fatalf("uploads = %d: the orphan should have been written once", bk.count())
		}
		if got := orphans.recorded(); len(got) != 1 || got[0] != bk.uploadKeys[0] {
			t.Fatalf("orphans recorded = %v, want the uploaded %v", got, bk.uploadKeys)
		}
	})
}

// A sharded store may commit some partitions of a flush and not others:
// their producers are answered, the rest get the retriable error, the object
// is no orphan (committed entries name it), and the next flush commits.
func TestPartialCommit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lg, orphans := &fakeLog{failPartition: &metadata.Partition{Index: 1}}, &fakeOrphans{}
		b := New(testConfig(), Deps{Bucket: &fakeBucket{}, Log: lg, NewKey: keys(), Orphans: orphans})
		stop := run(t, b)
		defer stop()
		ok, failed := appendWait(t, b, batch(0, 10)), appendWait(t, b, batch(1, 10))
		time.Sleep(time.Second)
		synctest.Wait()
		if a := <-ok; a.err != nil || a.results[0].Err != nil || a.results[0].BaseOffset != 0 {
			t.Fatalf("partition 0 = %+v, want committed at 0", a)
		}
		if a := <-failed; a.err != nil || !errors.Is(a.results[0].Err, metadata.ErrShardFailed) {
			t.Fatalf("partition 1 = %+v, want ErrShardFailed", a)
		}
		if got := orphans.recorded(); len(got) != 0 {
			t.Fatalf("orphans recorded = %v; committed entries name the object", got)
		}
		next := appendWait(t, b, batch(1, 10))
		time.Sleep(time.Second)
		synctest.Wait()
		if a := <-next; a.err != nil || a.results[0].BaseOffset != 0 {
			t.Fatalf("next flush = %+v, want partition 1 at 0", a)
		}
	})
}

func TestBufferFullWaitsThenFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bk, lg := &fakeBucket{block: make(chan struct{})}, &fakeLog{}
		cfg := testConfig()
		cfg.BufferBytes, cfg.FlushBytes = 100, 100
		b := New(cfg, Deps{Bucket: bk, Log: lg, NewKey: keys()})
		stop := run(t, b)
		defer func() { close(bk.block); stop() }()

		appendWait(t, b, batch(0, 100)) // fills the buffer; its upload blocks
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		err := b.Append(ctx, []Batch{batch(0, 10)}, 0, func([]metadata.BatchResult, error) {})
		if !errors.Is(err, ErrBufferFull) {
			t.Fatalf("err = %v, want ErrBufferFull", err)
		}
	})
}

func TestReserveHoldsRoomUntilAppendTakesWhatItNeeds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bk, lg := &fakeBucket{block: make(chan struct{})}, &fakeLog{}
		cfg := testConfig()
		cfg.BufferBytes, cfg.FlushBytes = 100, 1000
		b := New(cfg, Deps{Bucket: bk, Log: lg, NewKey: keys()})
		stop := run(t, b)
		defer func() { close(bk.block); stop() }()

		if b.Reserve(context.Background(), 101) {
			t.Fatal("reserved more than the whole buffer")
		}
		if !b.Reserve(context.Background(), 100) {
			t.Fatal("Reserve(100) of an empty buffer failed")
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if b.Reserve(ctx, 1) {
			t.Fatal("reserved past a full buffer")
		}
		// The request's batches take 60 of the 100 reserved bytes; the
		// other 40 come back at once.
		if err := b.Append(context.Background(), []Batch{batch(0, 60)}, 100, func([]metadata.BatchResult, error) {}); err != nil {
			t.Fatal(err)
		}
		if !b.Reserve(context.Background(), 40) {
			t.Fatal("the reservation's unused bytes were not given back")
		}
		b.Release(40)
	})
}

func TestShutdownFlushesAndAnswers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bk, lg := &fakeBucket{}, &fakeLog{}
		b := New(testConfig(), Deps{Bucket: bk, Log: lg, NewKey: keys()})
		stop := run(t, b)
		var wg sync.WaitGroup
		ch := appendWait(t, b, batch(0, 10))
		wg.Go(stop) // before the flush interval ends
		wg.Wait()
		if a := <-ch; a.err != nil {
			t.Fatalf("err = %v", a.err)
		}
		err := b.Append(context.Background(), []Batch{batch(0, 1)}, 0, func([]metadata.BatchResult, error) {})
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("Append after stop = %v, want ErrClosed", err)
		}
	})
}
