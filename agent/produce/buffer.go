package produce

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/sluicehq/sluice/metadata"
	"github.com/sluicehq/sluice/tiering/bucket"
)

// Batch is one validated record batch bound for a partition.
type Batch struct {
	Topic     string // recorded in the object's footer so it explains itself
	Partition metadata.Partition
	Data      []byte

	Records        int32 // LastOffsetDelta+1
	FirstTimestamp int64
	MaxTimestamp   int64
	ProducerID     int64 // metadata.NoProducer when not idempotent
	ProducerEpoch  int16
	BaseSequence   int32
}

// Done receives the outcome of one Append: a result per batch, at the same
// index, or an error (ErrFlushFailed) when nothing was committed.
type Done func(results []metadata.BatchResult, err error)

// A committer allows faking metadata.Log in tests.
type committer interface {
	Commit(ctx context.Context, c metadata.Commit) ([]metadata.BatchResult, error)
}

// An orphanRecorder remembers objects whose commit failed, for cleanup.
type orphanRecorder interface {
	RecordOrphan(ctx context.Context, key string) error
}

// Deps are the buffer's collaborators.
type Deps struct {
	Bucket bucket.Uploader
	Log    committer
	// Orphans, when set, records every object that was or may have been
	// uploaded but was never committed.
	Orphans orphanRecorder
	// Uploaded, when set, is handed each object right after its upload and
	// before its commit, so that the read path can serve it without a
	// GET. When it returns true it keeps the slice, which the buffer then
	// never touches again unless given it back through reuse (to be called
	// only once nothing holds the slice, and without blocking); otherwise
	// the slice is reused at once.
	Uploaded func(key string, object []byte, reuse func([]byte)) (kept bool)
	// NewKey returns an object key never returned before.
	NewKey func() string
	Logger *slog.Logger
}

// pending is one Append waiting for its flush.
type pending struct {
	batches []Batch
	results []metadata.BatchResult
	done    Done
}

// Buffer holds produced batches of every partition in memory and flushes
// them as one object per flush: when FlushBytes are buffered, when the
// oldest batch has waited FlushInterval, or when the buffer stops.
//
// Durability order, which nothing may reorder: the object is uploaded under
// a fresh key, then committed to metadata, and only then is done called.
type Buffer struct {
	cfg  Config
	deps Deps
	mem  *semaphore.Weighted
	in   chan *pending
	stop chan struct{}

	stopOnce sync.Once
	closed   atomic.Bool
	pipe     pipeline
}

// New returns a buffer; Run must be called for it to flush.
func New(cfg Config, deps Deps) *Buffer {
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	initMetrics()
	if cfg.UploadHedges > 0 {
		deps.Bucket = bucket.NewHedger(deps.Bucket, cfg.UploadHedges)
	}
	b := &Buffer{
		cfg:  cfg,
		deps: deps,
		mem:  semaphore.NewWeighted(cfg.BufferBytes),
		in:   make(chan *pending),
		stop: make(chan struct{}),
	}
	b.pipe = pipeline{
		buf: b, uploads: make(chan struct{}, cfg.Uploads), encoded: make(chan *bytes.Buffer, cfg.Uploads),
	}
	return b
}

// Reserve holds n bytes of the buffer for a produce request of that size
// before its body is read, waiting while the buffer is full. Requests that
// wait for room then wait unread, in the socket, and not as bodies in the
// heap: what Kafka's request memory pool does (queued.max.request.bytes).
// It waits at most ReserveWait: a request still without room is then read
// without, and its Append waits the request's own timeout and fails with
// ErrBufferFull, so a producer facing a slow bucket gets a retriable error,
// not silence. It reports false, holding nothing, when n is larger than
// the whole buffer or no room came in time. The bytes go to Append, or
// back through Release.
func (b *Buffer) Reserve(ctx context.Context, n int64) bool {
	if n <= 0 || n > b.cfg.BufferBytes {
		return false
	}
	if b.cfg.ReserveWait <= 0 {
		return b.mem.TryAcquire(n)
	}
	ctx, cancel := context.WithTimeout(ctx, b.cfg.ReserveWait)
	defer cancel()
	return b.mem.Acquire(ctx, n) == nil
}

// Release gives back n reserved bytes that no Append took.
func (b *Buffer) Release(n int64) {
	if n > 0 {
		b.mem.Release(n)
	}
}

// Append queues batches for the next flush and calls done once they are
// committed or have failed. reserved is what Reserve held for the request
// the batches came from, or 0: Append takes it over whatever it returns,
// keeping what the batches need and giving back the rest. It waits while
// the buffer is full for what the reservation does not cover, up to ctx's
// end, and then returns ErrBufferFull; it returns ErrClosed after Run ended
// or began to drain. When Append returns an error, done is never called.
func (b *Buffer) Append(ctx context.Context, batches []Batch, reserved int64, done Done) error {
	n := size(batches)
	if b.closed.Load() {
		b.Release(reserved)
		return ErrClosed
	}
	if n > b.cfg.BufferBytes {
		b.Release(reserved)
		return ErrTooLarge
	}
	if reserved >= n {
		b.Release(reserved - n)
	} else if err := b.mem.Acquire(ctx, n-reserved); err != nil {
		b.Release(reserved)
		return fmt.Errorf("%w: %w", ErrBufferFull, err)
	}
	p := &pending{batches: batches, results: make([]metadata.BatchResult, len(batches)), done: done}
	select {
	case b.in <- p:
		return nil
	case <-b.stop:
		b.mem.Release(n)
		return ErrClosed
	case <-ctx.Done():
		b.mem.Release(n)
		return fmt.Errorf("%w: %w", ErrBufferFull, ctx.Err())
	}
}

// Run flushes until ctx ends, then flushes what is buffered, waits for every
// flush to be committed and answered, and returns nil.
func (b *Buffer) Run(ctx context.Context) error {
	open := newFlush()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer b.pipe.wait()
	for {
		select {
		case p := <-b.in:
			// A request that would take the open flush past FlushBytes
			// seals it first, so objects stay near the configured size.
			if !open.empty() && open.bytes+int(size(p.batches)) > b.cfg.FlushBytes {
				timer.Stop()
				b.pipe.seal(open, reasonSize)
				open = newFlush()
			}
			if open.empty() {
				timer.Reset(b.cfg.FlushInterval)
			}
			open.add(p)
			if open.bytes >= b.cfg.FlushBytes {
				timer.Stop()
				b.pipe.seal(open, reasonSize)
				open = newFlush()
			}
		case <-timer.C:
			b.pipe.seal(open, reasonAge)
			open = newFlush()
		case <-ctx.Done():
			b.closed.Store(true)
			b.stopOnce.Do(func() { close(b.stop) })
			if !open.empty() {
				b.pipe.seal(open, reasonShutdown)
			}
			return nil
		}
	}
}

func size(batches []Batch) int64 {
	var n int64
	for i := range batches {
		n += int64(len(batches[i].Data))
	}
	return n
}

// isCanceled reports errors that are not failures of the flush itself.
func isCanceled(err error) bool {
	return errors.Is(err, context.Canceled)
}
