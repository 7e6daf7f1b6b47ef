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

// Read returns exactly length bytes of the object key from off. A range
// that runs past the end of the object returns ErrShortRead; a missing
// object bucket.ErrNotFound. The returned slice is shared with the cache
// and must not be modified.
func (r *Reader) Read(ctx context.Context, key string, off, length int64) ([]byte, error) {
	if off < 0 || length < 0 {
		return nil, fmt.Errorf("reading %s: %w: offset %d length %d", key, bucket.ErrInvalidRange, off, length)
	}
	if length == 0 {
		return []byte{}, nil
	}
	return r.cache.Get(ctx, cache.Key{Object: key, Pos: off, Len: length}, r.get)
}

// Keep caches the whole object key, which the caller has just written, and
// reports whether it did: the agent that flushed an object serves its tail
// consumers from memory instead of reading back what it uploaded. Once kept,
// object belongs to the cache and must not be modified; it counts at its
// capacity, and one larger than the whole cache is not kept. If no read was
// served from it by the time the cache evicts it, nothing can hold it and
// recycle, when set, gets it back (under the cache's lock, so it must not
// block).
func (r *Reader) Keep(key string, object []byte, recycle func([]byte)) bool {
	return r.cache.Put(cache.Key{Object: key, Len: int64(len(object))}, object, recycle)
}

// get GETs the range of k, allocating only what the caller asked for.
func (r *Reader) get(ctx context.Context, k cache.Key) ([]byte, error) {
	rc, err := r.bucket.GetRange(ctx, k.Object, k.Pos, k.Len)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", k, err)
	}
	defer rc.Close()
	data := make([]byte, k.Len)
	if n, err := io.ReadFull(rc, data); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("reading %s: %w: got %d bytes", k, ErrShortRead, n)
		}
		return nil, fmt.Errorf("reading %s: %w", k, err)
	}
	return data, nil
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
