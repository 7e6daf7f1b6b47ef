package agent

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/sluicehq/sluice/metadata"
	"github.com/sluicehq/sluice/tiering"
)

// tailEntries is how many recent index entries are kept per partition, so
// that consumers at the tail find their bytes without asking metadata.
const tailEntries = 64

// aheadEntries is how many index entries one lookup reads, and keeps, for a
// consumer behind the tail: one lookup then serves the fetches of several
// partition max-bytes, where reading 8 made one Lua call per partition of
// every Fetch in a replay.
const aheadEntries = 64

// errOffsetOutOfRange is returned by read for an offset outside the log.
var errOffsetOutOfRange = errors.New("offset out of range")

// partState is what this agent knows of one partition. Index entries are
// immutable, so once cached they are right forever; the offsets only move
// forward, and move when a commit is announced.
type partState struct {
	offsets metadata.Offsets
	// entries are the most recent index entries, contiguous and ending
	// at the high watermark, or empty when unknown.
	entries []metadata.IndexEntry
	// ahead are contiguous entries read from the index for a reader
	// behind the tail, or empty.
	ahead   []metadata.IndexEntry
	waiters map[chan struct{}]struct{}
	// loading is true while the offsets are being read; notifications
	// meanwhile only raise the high watermark, so none is lost in the gap.
	loading bool
}

// A byteReader reads object ranges: the tiering.Reader, or what one fetch
// prefetched through it.
type byteReader interface {
	Read(ctx context.Context, key string, off, length int64) ([]byte, error)
}

// logView is the agent's read side: partition offsets and recent index
// entries cached from commit notifications, and object bytes through the
// tiering cache.
type logView struct {
	log    metadata.Log
	reader *tiering.Reader

	mu    sync.Mutex
	parts map[metadata.Partition]*partState
	// live is true while commit notifications arrive; without them the
	// cache cannot be trusted and every read asks metadata.
	live bool
	// watching is closed once the first subscription to commits is
	// established (or the store cannot notify): Run serves no request
	// before, as whatever it cached then would be dropped at once.
	watching     chan struct{}
	watchingOnce sync.Once
}

func newLogView(log metadata.Log, r *tiering.Reader) *logView {
	return &logView{log: log, reader: r, parts: make(map[metadata.Partition]*partState), watching: make(chan struct{})}
}

func (v *logView) markWatching() { v.watchingOnce.Do(func() { close(v.watching) }) }

// watch follows commit notifications until ctx ends. A store that cannot
// notify leaves the view uncached.
func (v *logView) watch(ctx context.Context, log *slog.Logger) {
	w, ok := v.log.(metadata.Watcher)
	if !ok {
		v.markWatching()
		return
	}
	for ctx.Err() == nil {
		v.setLive(true)
		if err := w.Watch(ctx, func(as []metadata.Appended) {
			v.appended(as)
			if as == nil { // a subscription established, or one lost
				v.markWatching()
			}
		}); err != nil && ctx.Err() == nil {
			log.Warn("watching commits; retrying", "err", err)
		}
		v.setLive(false)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (v *logView) setLive(live bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.live = live
	v.parts = make(map[metadata.Partition]*partState)
}

// appended applies a commit notification; nil means some were lost.
func (v *logView) appended(as []metadata.Appended) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if as == nil {
		for p, ps := range v.parts {
			wake(ps)
			delete(v.parts, p)
		}
		return
	}
	for _, a := range as {
		ps := v.parts[a.Partition]
		if ps == nil {
			continue // not followed here; read fresh when asked
		}
		ps.apply(a)
		wake(ps)
	}
}

func (ps *partState) apply(a metadata.Appended) {
	if a.HighWatermark <= ps.offsets.HighWatermark {
		return
	}
	if ps.loading {
		ps.offsets.HighWatermark = a.HighWatermark
		return
	}
	contiguous := len(a.Entries) > 0 && a.Entries[0].BaseOffset == ps.offsets.HighWatermark &&
		a.Entries[len(a.Entries)-1].LastOffset+1 == a.HighWatermark
	// The tail may start at any commit: entries need only be contiguous up
	// to the high watermark. Waiting for an empty log to start it left a
	// partition first read by a restarted agent without one, and every
	// fetch of its consumers at the tail asked the index in Redis.
	if contiguous {
		ps.entries = append(ps.entries, a.Entries...)
		if n := len(ps.entries); n > tailEntries {
			ps.entries = append([]metadata.IndexEntry(nil), ps.entries[n-tailEntries:]...)
		}
	} else {
		ps.entries = nil
	}
	ps.offsets.HighWatermark = a.HighWatermark
}

func wake(ps *partState) {
	for ch := range ps.waiters {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// offsets returns the partition's bounds, from the cache when it is live.
func (v *logView) offsets(ctx context.Context, p metadata.Partition) (metadata.Offsets, error) {
	v.mu.Lock()
	ps := v.parts[p]
	if ps != nil && !ps.loading {
		o := ps.offsets
		v.mu.Unlock()
		return o, nil
	}
	if ps == nil && v.live {
		ps = &partState{loading: true, waiters: make(map[chan struct{}]struct{})}
		v.parts[p] = ps
	}
	v.mu.Unlock()

	os, err := v.log.Offsets(ctx, []metadata.Partition{p})
	if err != nil {
		return metadata.Offsets{}, err
	}
	o := os[0]
	if ps == nil {
		return o, nil
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if ps.loading {
		ps.loading = false
		ps.offsets.LogStart = o.LogStart
		ps.offsets.HighWatermark = max(ps.offsets.HighWatermark, o.HighWatermark)
	}
	return ps.offsets, nil
}

// entries returns index entries of p from offset from on, from the cache
// when it holds them.
func (v *logView) entries(ctx context.Context, p metadata.Partition, from int64) ([]metadata.IndexEntry, error) {
	v.mu.Lock()
	ps := v.parts[p]
	if ps != nil && !ps.loading {
		if len(ps.entries) > 0 && ps.entries[0].BaseOffset <= from {
			es := ps.entries
			v.mu.Unlock()
			return entriesFrom(es, from), nil
		}
		// The read-ahead is used only while it reaches past from: its
		// last entry may be followed by ones it does not hold.
		if n := len(ps.ahead); n > 0 && ps.ahead[0].BaseOffset <= from && ps.ahead[n-1].LastOffset >= from {
			es := ps.ahead
			v.mu.Unlock()
			return entriesFrom(es, from), nil
		}
	}
	v.mu.Unlock()
	es, err := v.log.Index(ctx, p, from, aheadEntries)
	if err != nil || len(es) == 0 {
		return es, err
	}
	v.mu.Lock()
	if ps := v.parts[p]; ps != nil && !ps.loading {
		ps.ahead = es
	}
	v.mu.Unlock()
	return es, nil
}

// behind reports whether a read of p from offset is served by the
// read-ahead or the store rather than by the cached tail entries.
func (v *logView) behind(p metadata.Partition, offset int64) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	ps := v.parts[p]
	return ps == nil || ps.loading || len(ps.entries) == 0 || ps.entries[0].BaseOffset > offset
}

// checkStarts reads the log starts of ps from the store in one round trip
// and applies them. Readers behind the tail are served index entries from
// the read-ahead, which, like the cached bounds, does not hear of retention;
// this keeps them from returning batches below the log start.
func (v *logView) checkStarts(ctx context.Context, ps []metadata.Partition) error {
	if len(ps) == 0 {
		return nil
	}
	offs, err := v.log.Offsets(ctx, ps)
	if err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	for i, p := range ps {
		st := v.parts[p]
		if st == nil || st.loading || offs[i].LogStart <= st.offsets.LogStart {
			continue
		}
		st.offsets.LogStart = offs[i].LogStart
		st.offsets.HighWatermark = max(st.offsets.HighWatermark, offs[i].HighWatermark)
		st.ahead = nil
	}
	return nil
}

// entriesFrom returns the entries of es from the one holding from on.
func entriesFrom(es []metadata.IndexEntry, from int64) []metadata.IndexEntry {
	i, _ := slices.BinarySearchFunc(es, from, func(e metadata.IndexEntry, from int64) int {
		return cmp.Compare(e.LastOffset, from)
	})
	if i == len(es) {
		return nil
	}
	return es[i:]
}

// refresh makes the next offsets call read p's bounds from the store again.
// The cache learns of new commits but not of retention moving the log
// start, so a read that finds the index gone below it calls this.
func (v *logView) refresh(p metadata.Partition) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if ps := v.parts[p]; ps != nil {
		ps.loading, ps.entries, ps.ahead = true, nil, nil
	}
}

// forgetEntries drops p's cached index entries; the next read asks the
// index.
func (v *logView) forgetEntries(p metadata.Partition) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if ps := v.parts[p]; ps != nil {
		ps.entries, ps.ahead = nil, nil
	}
}

// subscribe registers ch to be signalled when any of ps advances. The
// returned func unregisters it.
func (v *logView) subscribe(ch chan struct{}, ps []metadata.Partition) func() {
	v.mu.Lock()
	defer v.mu.Unlock()
	var states []*partState
	for _, p := range ps {
		st := v.parts[p]
		if st == nil {
			continue
		}
		st.waiters[ch] = struct{}{}
		states = append(states, st)
	}
	return func() {
		v.mu.Lock()
		defer v.mu.Unlock()
		for _, st := range states {
			delete(st.waiters, ch)
		}
	}
}

// isLive reports whether waiting for notifications is meaningful.
func (v *logView) isLive() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.live
}
