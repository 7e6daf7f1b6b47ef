package memory

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/sluicehq/sluice/metadata"
)

var _ metadata.OrphanLog = (*Store)(nil)

// orphanSet records orphaned object keys. It is not persisted: an orphan
// forgotten by a restart of `sluice dev` stays in its data directory, as
// nothing sweeps the bucket against the index yet.
type orphanSet struct {
	mu   sync.Mutex
	at   map[string]time.Time
	keys []string // in recording order
}

// RecordOrphan notes key; recording it again keeps the first time.
func (s *Store) RecordOrphan(_ context.Context, key string) error {
	o := &s.orphans
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.at == nil {
		o.at = make(map[string]time.Time)
	}
	if _, ok := o.at[key]; !ok {
		o.at[key] = time.Now()
		o.keys = append(o.keys, key)
	}
	return nil
}

// Orphans returns up to limit keys, oldest first.
func (s *Store) Orphans(_ context.Context, limit int) ([]string, error) {
	o := &s.orphans
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.keys[:min(limit, len(o.keys))]), nil
}

// ForgetOrphan removes key.
func (s *Store) ForgetOrphan(_ context.Context, key string) error {
	o := &s.orphans
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.at[key]; ok {
		delete(o.at, key)
		o.keys = slices.DeleteFunc(o.keys, func(k string) bool { return k == key })
	}
	return nil
}
