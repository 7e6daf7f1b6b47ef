package memory

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/sluicehq/sluice/metadata"
)

var (
	_ metadata.TopicRegistry = (*Store)(nil)
	_ metadata.Log           = (*Store)(nil)
	_ metadata.Watcher       = (*Store)(nil)
)

// Store is an in-memory metadata store, optionally persisted to a local log.
// It is safe for concurrent use.
type Store struct {
	// FailNextCommit makes the next Commit return its error without
	// committing anything, as a Redis that could not be reached would.
	FailNextCommit Fault
	// FailNextCommitAfter makes the next Commit commit and then return its
	// error, as a commit whose reply was lost to a timeout would.
	FailNextCommitAfter Fault
	// Commits counts calls to Commit, failed ones included.
	Commits atomic.Int64
	// FailNextGroupWrite makes the next SaveGroup, DeleteGroup,
	// CommitOffsets or DeleteOffsets return its error without writing.
	FailNextGroupWrite Fault

	mu           sync.Mutex
	closed       bool
	wal          *wal // nil for a store that keeps nothing
	topics       map[string]*metadata.Topic
	byID         map[metadata.TopicID]*metadata.Topic
	parts        map[metadata.Partition]*partition
	nextProducer int64
	commitCount  int64
	watchers     map[*watcher]struct{}
	orphans      orphanSet
	leases       leaseTable              // see lifecycle.go
	groups       map[string]*groupRecord // consumer groups; see groups.go
	agents       registryTable           // the fleet's agents; see registry.go
}

// Fault is an error to inject once. Unlike a plain error field, it may be
// set while other goroutines use the store.
type Fault struct{ err atomic.Pointer[error] }

// Set arms the fault: the next call it guards returns err.
func (f *Fault) Set(err error) { f.err.Store(&err) }

// take disarms the fault and returns its error, or nil if it was not set.
func (f *Fault) take() error {
	if p := f.err.Swap(nil); p != nil {
		return *p
	}
	return nil
}

// New returns an empty store that keeps nothing across restarts.
func New() *Store {
	return &Store{
		topics:   make(map[string]*metadata.Topic),
		byID:     make(map[metadata.TopicID]*metadata.Topic),
		parts:    make(map[metadata.Partition]*partition),
		watchers: make(map[*watcher]struct{}),
	}
}

// Close releases the log of a persistent store. Every later call returns
// ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.wal == nil {
		return nil
	}
	return s.wal.close()
}

// lock takes the store's mutex, and reports ErrClosed instead when the store
// is closed. On nil error the caller must unlock.
func (s *Store) lock() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	return nil
}

// change logs m when the store is persistent, then applies it. A mutation
// is applied only once it is durable, so a failed write changes nothing.
func (s *Store) change(m mutation) (commitOutcome, error) {
	if s.wal != nil {
		if err := s.wal.append(m); err != nil {
			return commitOutcome{}, fmt.Errorf("logging metadata change: %w", err)
		}
	}
	return s.apply(m), nil
}

// validateCommit refuses commits that would corrupt the index rather than
// fail one batch: they are agent bugs, not client errors.
func validateCommit(c metadata.Commit) error {
	if c.Object == "" || strings.ContainsAny(c.Object, "\n\r") {
		return fmt.Errorf("%w: object key %q is empty or holds a line break", errInvalidCommit, c.Object)
	}
	for i, b := range c.Batches {
		if b.Records < 1 || b.Pos < 0 || b.Len < 0 {
			return fmt.Errorf("%w: batch %d has %d records at %d+%d", errInvalidCommit, i, b.Records, b.Pos, b.Len)
		}
	}
	return nil
}
