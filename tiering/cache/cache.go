package cache

import (
	"container/list"
	"context"
	"fmt"
	"sync"

	"golang.org/x/sync/singleflight"
)

// Key names a byte range of an object. Objects are immutable and their keys
// never reused, so a cached range can never go stale.
type Key struct {
	Object   string
	Pos, Len int64
}

func (k Key) String() string { return fmt.Sprintf("%s@%d+%d", k.Object, k.Pos, k.Len) }

// entryOverhead approximates the memory of an entry beyond its bytes (list
// element, map slot, key), so many tiny ranges still count against the bound.
const entryOverhead = 128

// Ranges is a size-bounded LRU of object byte ranges. Concurrent Gets of a
// missing range share one load. It is safe for concurrent use.
type Ranges struct {
	maxBytes int64
	loads    singleflight.Group

	mu      sync.Mutex
	bytes   int64
	order   *list.List // front is most recently used; values are *entry
	entries map[Key]*list.Element
}

type entry struct {
	key  Key
	data []byte
}

// New returns a cache holding at most maxBytes. With maxBytes <= 0 nothing
// is kept, but concurrent Gets still share one load.
func New(maxBytes int64) *Ranges {
	return &Ranges{maxBytes: maxBytes, order: list.New(), entries: map[Key]*list.Element{}}
}

// Get returns the bytes of k, calling load when they are not cached. Callers
// asking for a range while it loads wait for that one load. The load runs
// without the caller's cancellation, so a caller that gives up does not fail
// the others; each caller still returns when its own ctx is done. Failed
// loads are not cached.
//
// The returned slice is shared with the cache and other callers: it must not
// be modified.
func (c *Ranges) Get(ctx context.Context, k Key, load func(ctx context.Context) ([]byte, error)) ([]byte, error) {
	if data, ok := c.lookup(k); ok {
		return data, nil
	}
	loadCtx := context.WithoutCancel(ctx)
	ch := c.loads.DoChan(k.String(), func() (any, error) {
		data, err := load(loadCtx)
		if err == nil {
			c.add(k, data)
		}
		return data, err
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.([]byte), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *Ranges) lookup(k Key) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[k]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*entry).data, true
}

// add stores data for k, evicting the least recently used ranges to stay
// within the bound. A range larger than the whole cache is not stored.
func (c *Ranges) add(k Key, data []byte) {
	size := int64(len(data)) + entryOverhead
	c.mu.Lock()
	defer c.mu.Unlock()
	if size > c.maxBytes {
		return
	}
	if _, ok := c.entries[k]; ok {
		return
	}
	c.entries[k] = c.order.PushFront(&entry{key: k, data: data})
	c.bytes += size
	for c.bytes > c.maxBytes {
		c.evict(c.order.Back())
	}
}

func (c *Ranges) evict(el *list.Element) {
	e := c.order.Remove(el).(*entry)
	delete(c.entries, e.key)
	c.bytes -= int64(len(e.data)) + entryOverhead
}

// Stats returns how many ranges and bytes (overhead included) are cached.
func (c *Ranges) Stats() (entries int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries), c.bytes
}
