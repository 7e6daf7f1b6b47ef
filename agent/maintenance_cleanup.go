package agent

import (
	"context"
	"errors"

	"github.com/sluicehq/sluice/metadata"
	"github.com/sluicehq/sluice/tiering/bucket"
	"github.com/sluicehq/sluice/tiering/segment"
)

// cleanupBatch is how many recorded objects one round settles at most.
const cleanupBatch = 256

// cleanup settles the objects recorded in the orphan log longer than the
// grace period ago, if this agent takes the cleanup lease.
func (m *maintainer) cleanup(ctx context.Context) {
	if !m.lease(ctx, "cleanup") {
		return
	}
	keys, err := m.life.OrphansBefore(ctx, m.now().Add(-m.cfg.ObjectGrace), cleanupBatch)
	if err != nil {
		m.warn(ctx, "listing orphaned objects", err)
		return
	}
	for _, key := range keys {
		if ctx.Err() != nil {
			return
		}
		if err := m.settle(ctx, key); err != nil {
			m.warn(ctx, "cleaning up object", err, "segment", key)
		}
	}
}

// settle deletes key if no partition its footer names still has an entry
// naming it, and forgets it either way: a partition that still names it
// records it again when it lets go. An object that is gone is forgotten;
// one whose footer cannot be read is forgotten too, with a warning, since
// nothing tells which partitions might name it.
func (m *maintainer) settle(ctx context.Context, key string) error {
	f, err := m.reader.Footer(ctx, key)
	switch {
	case errors.Is(err, bucket.ErrNotFound):
		return m.life.ForgetOrphan(ctx, key)
	case errors.Is(err, segment.ErrCorrupt), errors.Is(err, segment.ErrUnsupportedVersion):
		m.log.Warn("orphaned object unreadable; left in the bucket", "segment", key, "err", err)
		return m.life.ForgetOrphan(ctx, key)
	case err != nil:
		return err
	}
	for _, s := range f.Sections {
		p := metadata.Partition{Topic: metadata.TopicID(s.TopicID), Index: s.Partition}
		named, err := m.life.Referenced(ctx, p, key)
		if err != nil {
			return err
		}
		if named {
			return m.life.ForgetOrphan(ctx, key)
		}
	}
	if err := m.bucket.Delete(ctx, key); err != nil {
		return err
	}
	objectsDeleted.Add(ctx, 1)
	m.log.Info("deleted object no index entry names", "segment", key)
	return m.life.ForgetOrphan(ctx, key)
}
