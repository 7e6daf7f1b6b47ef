package cache

import (
	"container/list"
	"context"
	"fmt"
	"slices"
	"sync"
)

// Key names a byte range of an object. Objects are immutable and their keys
// never reused, so a cached range can never go stale.
type Key struct {
	Object   string
	Pos, Len int64
}

func (k Key) String() string { return fmt.Sprintf("%s@%d+%d", k.Object, k.Pos, k.Len) }

// Contains reports whether o lies within k.
func (k Key) Contains(o Key) bool {
	return k.Object == o.Object && k.Pos <= o.Pos && o.Pos+o.Len <= k.Pos+k.Len
}

// entryOverhead approximates the memory of an entry beyond its bytes (list
// element, map slot, key), so many tiny ranges still count against the bound.
const entryOverhead = 128

// A LoadFunc reads exactly the bytes of k.
type LoadFunc func(ctx context.Context, k Key) ([]byte, error)

// Ranges is a size-bounded LRU of object byte ranges. A request is served
// by any cached or loading range that contains it, so one load of a wide
// range serves every narrower request inside it. It is safe for concurrent
// use.
type Ranges struct {
	maxBytes int64

	mu      sync.Mutex
	bytes   int64
	order   *list.List // front is most recently used; values are *entry
	objects map[string]*object
}

// object is what is cached or loading of one object.
type object struct {
	cached  []*list.Element
	loading []*Load
}

type entry struct {
	key  Key
	data []byte
	// recycle, set by Put, gets data back at eviction if no read was ever
	// served from it: only then can nothing hold a slice of it.
	recycle func([]byte)
	served  bool
}

// A Load is one range being read, or already read: the bytes of every range
// it contains come from it. Holding a Load keeps its bytes even after the
// cache evicts them.
type Load struct {
	key  Key
	done chan struct{}
	data []byte
	err  error
}

// closed is the done channel of Loads served from the cache.
var closed = func() chan struct{} { ch := make(chan struct{}); close(ch); return ch }()

// Bytes waits for the load and returns the bytes of k, which must lie within
// the load's range. The slice is shared and must not be modified.
func (l *Load) Bytes(ctx context.Context, k Key) ([]byte, error) {
	select {
	case <-l.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if l.err != nil {
		return nil, l.err
	}
	if !l.key.Contains(k) {
		return nil, fmt.Errorf("range %s outside the loaded %s", k, l.key)
	}
	from := k.Pos - l.key.Pos
	return l.data[from : from+k.Len : from+k.Len], nil
}

// New returns a cache holding at most maxBytes. With maxBytes <= 0 nothing
// is kept, but concurrent Gets still share one load.
func New(maxBytes int64) *Ranges {
	return &Ranges{maxBytes: maxBytes, order: list.New(), objects: map[string]*object{}}
}

// Get returns the bytes of k, calling load for k when no cached or loading
// range contains it. Callers asking for a range while it loads wait for that
// one load. The load runs without the caller's cancellation, so a caller
// that gives up does not fail the others; each caller still returns when its
// own ctx is done. Failed loads are not cached.
//
// The returned slice is shared with the cache and other callers: it must not
// be modified.
func (c *Ranges) Get(ctx context.Context, k Key, load LoadFunc) ([]byte, error) {
	return c.Acquire(ctx, []Key{k}, nil, load)[0].Bytes(ctx, k)
}

// Acquire returns, for each of wants, a Load that contains it: a cached
// range, one loading, or a new load. The wants no range contains are passed
// to merge, which returns the ranges to load instead (each containing one or
// more of them, sorted by object and position); a nil merge loads each want
// as it is. New loads run in the background, as in Get. Finding what is
// covered and registering the new loads happen atomically, so concurrent
// requests for one range make one load.
func (c *Ranges) Acquire(ctx context.Context, wants []Key, merge func([]Key) []Key, load LoadFunc) []*Load {
	out := make([]*Load, len(wants))
	var missed []int
	c.mu.Lock()
	for i, k := range wants {
		if out[i] = c.covering(k); out[i] == nil {
			missed = append(missed, i)
		}
	}
	var started []*Load
	if len(missed) > 0 {
		ks := make([]Key, len(missed))
		for j, i := range missed {
			ks[j] = wants[i]
		}
		spans := ks
		if merge != nil {
			spans = merge(ks)
		}
		for _, s := range spans {
			started = append(started, c.register(s))
		}
		for _, i := range missed {
			for _, l := range started {
				if l.key.Contains(wants[i]) {
					out[i] = l
					break
				}
			}
			if out[i] == nil { // a merge that dropped a range: load it alone
				out[i] = c.register(wants[i])
				started = append(started, out[i])
			}
		}
	}
	c.mu.Unlock()
	loadCtx := context.WithoutCancel(ctx)
	for _, l := range started {
		go c.run(loadCtx, l, load)
	}
	return out
}

// run loads l, caches it on success and wakes its waiters.
func (c *Ranges) run(ctx context.Context, l *Load, load LoadFunc) {
	data, err := load(ctx, l.key)
	if err == nil && int64(len(data)) != l.key.Len {
		err = fmt.Errorf("loading %s: got %d bytes", l.key, len(data))
	}
	l.data, l.err = data, err
	c.mu.Lock()
	o := c.objects[l.key.Object]
	o.loading = slices.DeleteFunc(o.loading, func(x *Load) bool { return x == l })
	if err == nil {
		c.add(o, l.key, data)
	}
	c.dropIfEmpty(l.key.Object, o)
	c.mu.Unlock()
	close(l.done)
}

// covering returns a cached or loading range containing k, or nil. The
// caller holds c.mu.
func (c *Ranges) covering(k Key) *Load {
	o := c.objects[k.Object]
	if o == nil {
		return nil
	}
	for _, el := range o.cached {
		if e := el.Value.(*entry); e.key.Contains(k) {
			c.order.MoveToFront(el)
			e.served = true
			return &Load{key: e.key, done: closed, data: e.data}
		}
	}
	for _, l := range o.loading {
		if l.key.Contains(k) {
			return l
		}
	}
	return nil
}

// register notes a new load of k. The caller holds c.mu.
func (c *Ranges) register(k Key) *Load {
	l := &Load{key: k, done: make(chan struct{})}
	o := c.object(k.Object)
	o.loading = append(o.loading, l)
	return l
}

func (c *Ranges) object(name string) *object {
	o := c.objects[name]
	if o == nil {
		o = &object{}
		c.objects[name] = o
	}
	return o
}

func (c *Ranges) dropIfEmpty(name string, o *object) {
	if len(o.cached) == 0 && len(o.loading) == 0 {
		delete(c.objects, name)
	}
}

// add stores data for k, evicting the least recently used ranges to stay
// within the bound, and returns its element, or nil when k was cached
// already or is larger than the whole cache. data counts at its capacity,
// which is what it holds in memory. The caller holds c.mu.
func (c *Ranges) add(o *object, k Key, data []byte) *list.Element {
	if int64(cap(data))+entryOverhead > c.maxBytes {
		return nil
	}
	size := int64(cap(data)) + entryOverhead
	for _, el := range o.cached {
		if el.Value.(*entry).key == k {
			return nil
		}
	}
	el := c.order.PushFront(&entry{key: k, data: data})
	o.cached = append(o.cached, el)
	c.bytes += size
	for c.bytes > c.maxBytes {
		c.evict(c.order.Back())
	}
	return el
}

func (c *Ranges) evict(el *list.Element) {
	e := c.order.Remove(el).(*entry)
	o := c.objects[e.key.Object]
	o.cached = slices.DeleteFunc(o.cached, func(x *list.Element) bool { return x == el })
	c.dropIfEmpty(e.key.Object, o)
	c.bytes -= int64(cap(e.data)) + entryOverhead
	if e.recycle != nil && !e.served {
		e.recycle(e.data)
	}
}

// Put caches data as the bytes of k, as a finished load would: for an
// object the caller already holds whole, so that reads of it need no GET.
// It reports whether it kept data, which is then the cache's and must not
// be modified; data larger than the whole cache, or a k already cached, is
// not kept. When recycle is set and no read was served from data by the
// time it is evicted, recycle gets it back for reuse; it runs under the
// cache's lock and must not block.
func (c *Ranges) Put(k Key, data []byte, recycle func([]byte)) bool {
	if int64(len(data)) != k.Len {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	o := c.object(k.Object)
	el := c.add(o, k, data)
	if el != nil {
		el.Value.(*entry).recycle = recycle
	}
	c.dropIfEmpty(k.Object, o)
	return el != nil
}

// Stats returns how many ranges and bytes (overhead included) are cached.
func (c *Ranges) Stats() (entries int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len(), c.bytes
}
