package memory

import (
	"context"
	"sync"

	"github.com/sluicehq/sluice/metadata"
)

// maxQueued bounds the notifications waiting for one slow watcher. Past it
// they are dropped and the watcher is told with fn(nil), as Watch allows,
// so a stuck watcher cannot grow the store's memory.
const maxQueued = 4096

// watcher is one Watch call's queue of undelivered notifications.
type watcher struct {
	mu    sync.Mutex
	queue [][]metadata.Appended
	lost  bool
	wake  chan struct{}
}

// Watch calls fn for every commit until ctx is done. It first calls
// fn(nil) once it is registered: from then on no commit is missed, and the
// caller may drop whatever it cached before.
func (s *Store) Watch(ctx context.Context, fn func([]metadata.Appended)) error {
	w := &watcher{wake: make(chan struct{}, 1)}
	if err := s.lock(); err != nil {
		return err
	}
	s.watchers[w] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.watchers, w)
		s.mu.Unlock()
	}()
	fn(nil)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-w.wake:
			w.deliver(fn)
		}
	}
}

// notify queues a commit's notification for every watcher. The caller holds
// s.mu.
func (s *Store) notify(as []metadata.Appended) {
	if len(as) == 0 {
		return
	}
	for w := range s.watchers {
		w.push(as)
	}
}

func (w *watcher) push(as []metadata.Appended) {
	w.mu.Lock()
	if len(w.queue) >= maxQueued {
		w.queue, w.lost = nil, true
	}
	w.queue = append(w.queue, as)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// deliver hands the queued notifications to fn, outside the lock so that fn
// may call the store.
func (w *watcher) deliver(fn func([]metadata.Appended)) {
	w.mu.Lock()
	queue, lost := w.queue, w.lost
	w.queue, w.lost = nil, false
	w.mu.Unlock()
	if lost {
		fn(nil)
	}
	for _, as := range queue {
		fn(as)
	}
}
