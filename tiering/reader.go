package tiering

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/sluicehq/sluice/tiering/bucket"
	"github.com/sluicehq/sluice/tiering/cache"
	"github.com/sluicehq/sluice/tiering/segment"
)

// footerTail is how much of an object's end Footer reads in one GET: enough
// for the trailer and the index of a few hundred partitions.
const footerTail = 64 << 10

// Reader reads byte ranges of objects through a cache. Objects are
// immutable, so cached ranges never go stale, and concurrent reads of one
// range cause one GET. It is safe for concurrent use.
type Reader struct {
	bucket bucket.Bucket
	cache  *cache.Ranges
}

// NewReader returns a Reader of b whose cache holds at most cacheBytes;
// with cacheBytes <= 0 nothing is kept but concurrent reads are still shared.
func NewReader(b bucket.Bucket, cacheBytes int64) *Reader {
	return &Reader{bucket: b, cache: cache.New(cacheBytes)}
}

// blockSize is the unit the Reader GETs and caches. A fetch wants one
// partition's range of an object that holds every partition's batches;
// reading aligned blocks makes consumers of all those partitions share one
// GET per block instead of making one GET each, and lets a replay read
// ahead.
const blockSize = 4 << 20

// Read returns exactly length bytes of the object key from off. A range
// that runs past the end of the object returns ErrShortRead; a missing
// object bucket.ErrNotFound. The returned slice may be shared with the
// cache and must not be modified.
func (r *Reader) Read(ctx context.Context, key string, off, length int64) ([]byte, error) {
	if off < 0 || length < 0 {
		return nil, fmt.Errorf("reading %s: %w: offset %d length %d", key, bucket.ErrInvalidRange, off, length)
	}
	if length == 0 {
		return []byte{}, nil
	}
	first, last := off/blockSize, (off+length-1)/blockSize
	var out []byte
	if first != last {
		out = make([]byte, 0, length)
	}
	for b := first; b <= last; b++ {
		block, err := r.block(ctx, key, b)
		if err != nil {
			return nil, err
		}
		lo := max(off-b*blockSize, 0)
		hi := min(off+length-b*blockSize, blockSize)
		if hi > int64(len(block)) {
			return nil, fmt.Errorf("reading %s@%d+%d: %w: the object ends at %d", key, off, length, ErrShortRead, b*blockSize+int64(len(block)))
		}
		if first == last {
			return block[lo:hi:hi], nil
		}
		out = append(out, block[lo:hi]...)
	}
	return out, nil
}

// block returns block b of the object, shorter than blockSize only at the
// object's end.
func (r *Reader) block(ctx context.Context, key string, b int64) ([]byte, error) {
	k := cache.Key{Object: key, Pos: b * blockSize, Len: blockSize}
	return r.cache.Get(ctx, k, func(ctx context.Context) ([]byte, error) {
		return r.get(ctx, k)
	})
}

// get GETs the range of k; a range past the object's end comes back short.
func (r *Reader) get(ctx context.Context, k cache.Key) ([]byte, error) {
	rc, err := r.bucket.GetRange(ctx, k.Object, k.Pos, k.Len)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", k, err)
	}
	defer rc.Close()
	data := make([]byte, k.Len)
	n, err := io.ReadFull(rc, data)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("reading %s: %w", k, err)
	}
	return data[:n:n], nil
}

// Footer reads and checks the index of the object key. It reads the
// object's tail in one cached GET, and the rest of a footer larger than that
// in a second.
func (r *Reader) Footer(ctx context.Context, key string) (segment.Footer, error) {
	size, err := r.bucket.Size(ctx, key)
	if err != nil {
		return segment.Footer{}, fmt.Errorf("reading footer of %s: %w", key, err)
	}
	n := min(size, footerTail)
	tail, err := r.Read(ctx, key, size-n, n)
	if err != nil {
		return segment.Footer{}, fmt.Errorf("reading footer of %s: %w", key, err)
	}
	at := &objectAt{ctx: ctx, r: r, key: key, tail: tail, tailPos: size - n}
	f, err := segment.ReadFooter(at, size)
	if err != nil {
		return segment.Footer{}, fmt.Errorf("reading footer of %s: %w", key, err)
	}
	return f, nil
}

// objectAt is an io.ReaderAt over an object, for segment.ReadFooter: reads
// inside the already fetched tail are served from it, others go through the
// Reader. io.ReaderAt has no context, so the one of the Footer call is kept.
type objectAt struct {
	ctx     context.Context
	r       *Reader
	key     string
	tail    []byte
	tailPos int64
}

func (o *objectAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= o.tailPos {
		if off-o.tailPos > int64(len(o.tail)) {
			return 0, io.EOF
		}
		n := copy(p, o.tail[off-o.tailPos:])
		if n < len(p) {
			return n, io.EOF
		}
		return n, nil
	}
	data, err := o.r.Read(o.ctx, o.key, off, int64(len(p)))
	if err != nil {
		return 0, err
	}
	return copy(p, data), nil
}
