package produce

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/sluicehq/sluice/metadata"
	"github.com/sluicehq/sluice/tiering/bucket"
	"github.com/sluicehq/sluice/tiering/segment"
)

// pipeline uploads sealed flushes concurrently and commits them one at a
// time in seal order. Commit order matters: an idempotent producer's next
// batch may sit in the next flush, and committing it first would look like
// a sequence gap.
type pipeline struct {
	buf     *Buffer
	uploads chan struct{} // semaphore of concurrent uploads
	// encoded holds the object buffers of finished uploads for reuse; it
	// has room for one per upload slot, which is as many as are ever in use.
	encoded chan *bytes.Buffer
	// held counts the object buffers in upload slots or in encoded. A
	// buffer handed to Uploaded leaves the count before Uploaded runs: the
	// cache evicts an older object while it takes the new one, and the
	// evicted buffer is the one the next flush should reuse.
	held atomic.Int32
	wg   sync.WaitGroup

	mu       sync.Mutex
	seq      uint64        // last sealed flush
	prev     chan struct{} // closed when the last sealed flush is done
	failedTo uint64        // flushes up to this seq fail without commit
}

// seal starts f on its way to the bucket. It never blocks on I/O.
func (pl *pipeline) seal(f *flush, reason flushReason) {
	pl.mu.Lock()
	pl.seq++
	f.seq = pl.seq
	f.key = pl.buf.deps.NewKey() // keys follow seal order, which helps reading the bucket
	prev, done := pl.prev, make(chan struct{})
	pl.prev = done
	pl.mu.Unlock()

	flushes.Add(context.Background(), 1, reasonAttr[reason])
	t := newStageTimer()
	pl.wg.Add(1)
	go func() {
		defer pl.wg.Done()
		defer close(done)
		pl.run(f, prev, &t)
	}()
}

// run uploads f, waits for the flush before it, commits f and answers its
// producers. The context is detached from the buffer's: a flush already
// sealed finishes even while the agent drains.
func (pl *pipeline) run(f *flush, prev <-chan struct{}, t *stageTimer) {
	b := pl.buf
	defer b.mem.Release(int64(f.bytes))
	ctx := context.Background()

	key := f.key
	commit, attempted, err := pl.upload(ctx, f, t)
	if prev != nil {
		<-prev
	}
	t.done(stageOrder)
	if err == nil && pl.failedBefore(f.seq) {
		err = fmt.Errorf("%w: an earlier flush failed", ErrFlushFailed)
	}
	if err == nil {
		err = pl.commit(ctx, f, commit)
		t.done(stageCommit)
	}
	if errors.Is(err, errPartial) {
		// Some partitions committed, so the object is referenced and no
		// orphan; their producers are answered, the others retry.
		pl.fail()
		b.deps.Logger.Warn("flush committed in part; producers of the rest will retry", "segment", key, "err", err)
		err = nil
	}
	if err != nil {
		pl.fail()
		b.deps.Logger.Warn("flush failed; producers will retry", "segment", key, "err", err)
		if attempted {
			pl.recordOrphan(key)
		}
	}
	f.finish(err)
}

// recordOrphan notes an object that may sit in the bucket uncommitted. If
// even that fails (metadata unreachable), the log line is what is left, and
// the object stays in the bucket: nothing sweeps the bucket against the
// index yet (see the README's known issues).
func (pl *pipeline) recordOrphan(key string) {
	rec := pl.buf.deps.Orphans
	if rec == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), pl.buf.cfg.CommitTimeout)
	defer cancel()
	if err := rec.RecordOrphan(ctx, key); err != nil {
		pl.buf.deps.Logger.Warn("recording orphaned object", "segment", key, "err", err)
	}
}

// upload encodes f and uploads it once an upload slot is free. Encoding
// waits for the slot too, so a queued flush holds only its produce requests,
// which --buffer-bytes counts, and not a second, encoded copy. attempted
// says whether the object may exist in the bucket.
func (pl *pipeline) upload(ctx context.Context, f *flush, t *stageTimer) (c metadata.Commit, attempted bool, err error) {
	pl.uploads <- struct{}{}
	t.done(stageQueue)
	defer func() {
		<-pl.uploads
		t.done(stageUpload)
	}()
	buf := pl.encodeBuffer(encodedSize(f))
	handed := false // to Uploaded, which either keeps it or reuses it
	defer func() {
		if !handed {
			pl.held.Add(-1)
			pl.reuse(buf)
		}
	}()
	var crc uint32
	if c, crc, err = encode(buf, f); err != nil {
		return c, false, err
	}
	f.release()
	ctx, cancel := context.WithTimeout(ctx, pl.buf.cfg.UploadTimeout)
	defer cancel()
	// The bucket keeps nothing of data once Upload returns, so the buffer
	// goes back to the free list unless Uploaded keeps it. Handing it over
	// instead of copying saves a copy of every flush on the agent whose
	// consumers read at the tail.
	if err := bucket.UploadCRC(ctx, pl.buf.deps.Bucket, f.key, buf.Bytes(), crc); err != nil {
		return c, true, fmt.Errorf("%w: uploading %s: %w", ErrFlushFailed, f.key, err)
	}
	if up := pl.buf.deps.Uploaded; up != nil {
		if obj := buf.Bytes(); cap(obj) <= 2*len(obj) {
			handed = true
			pl.held.Add(-1) // before the cache evicts an older object to make room
			if !up(f.key, obj, pl.recycle) {
				pl.reuse(buf)
			}
		} else {
			// A small flush in a buffer made for a full one: the cache
			// counts the whole buffer, so it gets a copy the flush's size
			// and the buffer is reused.
			up(f.key, slices.Clone(obj), nil)
		}
	}
	return c, true, nil
}

// encodeBuffer returns an empty object buffer of at least size bytes,
// reused when one is free. Each flush would otherwise allocate and zero one
// as large as the flush; a sync.Pool loses its buffers at every second GC,
// which under produce load made growing them 25% of the agent's CPU. Buffers
// are only taken inside an upload slot, so the free list never holds more
// than one per slot. A buffer too small is replaced by one of the size
// asked, not grown: bytes.Buffer grows to twice what it held plus what is
// asked, and kept buffers of three times a flush (148 MB of the heap under
// produce load).
func (pl *pipeline) encodeBuffer(size int) *bytes.Buffer {
	select {
	case buf := <-pl.encoded:
		if buf.Cap() >= size {
			buf.Reset()
			return buf
		}
		pl.held.Add(-1)
	default:
	}
	pl.held.Add(1)
	// A full flush's size at least, so that buffers made for small flushes
	// are not dropped at the next full one.
	return bytes.NewBuffer(make([]byte, 0, max(size, encodedBound(pl.buf.cfg.FlushBytes))))
}

// encodedSize is a little more than the object of f takes: its batches,
// and the header and footer with an index entry per partition section.
func encodedSize(f *flush) int { return encodedBound(f.bytes) }

func encodedBound(batchBytes int) int { return batchBytes + batchBytes/64 + 64<<10 }

// reuse keeps buf for the next flush, unless it was made for a flush larger
// than FlushBytes. One produce request can carry a megabyte per partition,
// and a producer that is held back sends them, so such flushes are common
// under full load; a free list of their buffers (up to twice a flush each)
// was idle memory nothing counted, and took a five-minute run's heap past
// the memory limit.
//
// The slots and the free list together hold at most one buffer per slot;
// more would be idle flush-sized buffers beside what the cache holds.
func (pl *pipeline) reuse(buf *bytes.Buffer) {
	if buf.Cap() > encodedBound(pl.buf.cfg.FlushBytes) {
		return
	}
	if pl.held.Add(1) > int32(cap(pl.uploads)) {
		pl.held.Add(-1)
		return
	}
	select {
	case pl.encoded <- buf:
	default:
		pl.held.Add(-1)
	}
}

// recycle takes back an object buffer that Uploaded kept and the cache let
// go unread. Under produce load with no reader at the tail this is every
// kept buffer, and dropping them had every flush allocate and zero a new
// one (14% of the agent's CPU producing alone).
func (pl *pipeline) recycle(b []byte) { pl.reuse(bytes.NewBuffer(b[:0])) }

// errPartial is returned by commit when a sharded store committed only
// some shards' part of a flush: the results say which batches failed.
var errPartial = errors.New("flush committed in part")

// commit makes the uploaded object visible and fills in each batch's result.
// After an error the object is an orphan: cleanup deletes it once its grace
// period has passed and no index entry names it. errPartial says that some
// batches got metadata.ErrShardFailed: every later flush must then fail, as
// after an error, lest a producer's next batch commit after a lost one.
func (pl *pipeline) commit(ctx context.Context, f *flush, c metadata.Commit) error {
	ctx, cancel := context.WithTimeout(ctx, pl.buf.cfg.CommitTimeout)
	defer cancel()
	results, err := pl.buf.deps.Log.Commit(ctx, c)
	if err != nil {
		return fmt.Errorf("%w: committing %s: %w", ErrFlushFailed, c.Object, err)
	}
	if len(results) != len(c.Batches) {
		return fmt.Errorf("%w: committing %s: %d results for %d batches", ErrFlushFailed, c.Object, len(results), len(c.Batches))
	}
	i := 0
	var partial error
	for _, s := range f.sections {
		for _, r := range s.refs {
			r.p.results[r.idx] = results[i]
			if partial == nil && errors.Is(results[i].Err, metadata.ErrShardFailed) {
				partial = fmt.Errorf("%w: %w", errPartial, results[i].Err)
			}
			i++
		}
	}
	return partial
}

// fail makes every flush sealed so far fail without committing, so that no
// later flush commits a producer's batch whose predecessor was lost here.
func (pl *pipeline) fail() {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	pl.failedTo = max(pl.failedTo, pl.seq)
}

func (pl *pipeline) failedBefore(seq uint64) bool {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	return seq <= pl.failedTo
}

func (pl *pipeline) wait() { pl.wg.Wait() }

// encode writes f as one object into out and describes its batches for the
// commit, in the same order. crc is the object's CRC-32C, for the bucket to
// check the upload with.
func encode(out *bytes.Buffer, f *flush) (c metadata.Commit, crc uint32, err error) {
	key := f.key
	out.Grow(encodedSize(f))
	w := segment.NewWriter(out, segment.KindIngest)
	c = metadata.Commit{Object: key, Batches: make([]metadata.CommitBatch, 0, len(f.waiters))}
	for _, s := range f.sections {
		sec := segment.Section{Topic: s.topic, TopicID: s.part.Topic, Partition: s.part.Index}
		for _, r := range s.refs {
			b := &r.p.batches[r.idx]
			pos, err := w.WriteBatch(sec, b.Data, segment.BatchMeta{
				Records: b.Records, FirstTimestamp: b.FirstTimestamp, MaxTimestamp: b.MaxTimestamp,
			})
			if err != nil {
				return c, 0, fmt.Errorf("%w: encoding %s: %w", ErrFlushFailed, key, err)
			}
			c.Batches = append(c.Batches, metadata.CommitBatch{
				Partition: s.part, Pos: pos, Len: int64(len(b.Data)), Records: b.Records,
				MaxTimestamp: b.MaxTimestamp, ProducerID: b.ProducerID,
				ProducerEpoch: b.ProducerEpoch, BaseSequence: b.BaseSequence,
			})
		}
	}
	if err := w.Close(); err != nil {
		return c, 0, fmt.Errorf("%w: encoding %s: %w", ErrFlushFailed, key, err)
	}
	return c, w.CRC(), nil
}
