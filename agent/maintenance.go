package agent

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/sluicehq/sluice/metadata"
	"github.com/sluicehq/sluice/tiering"
	"github.com/sluicehq/sluice/tiering/bucket"
)

// Maintenance keeps each partition's index, and so Redis memory, bounded,
// and the bucket free of objects nothing reads:
//
//   - compaction (maintenance_compact.go) rewrites a partition's small,
//     old index entries into one compacted segment with real offsets and
//     swaps them for the segment's entries in one compare-and-set;
//   - retention (maintenance_compact.go) moves the log start past whole
//     entries that retention.ms or retention.bytes let go;
//   - cleanup (maintenance_cleanup.go) deletes objects no entry names any
//     more, once a grace period has passed since they were let go.
//
// Every agent runs it, with no leader: a partition is tended by whichever
// agent takes its lease in the metadata store, and a lease that expires
// mid-work is harmless, since the compare-and-set lets only one swap win
// and the loser deletes its segment. Before compaction or retention stops
// referencing an object, the object is recorded in the orphan log; cleanup
// walks that log, so nothing let go is forgotten, even after a crash.

// MaintenanceConfig configures compaction, retention and cleanup.
type MaintenanceConfig struct {
	// Interval is how often each agent looks at every partition; 0 turns
	// maintenance off.
	Interval          time.Duration `yaml:"maintenance_interval"`
	CompactMinEntries int           `yaml:"compact_min_entries"`
	CompactMinAge     time.Duration `yaml:"compact_min_age"`
	SegmentBytes      int64         `yaml:"segment_bytes"`
	// SegmentEntryBytes is the size of each index entry of a compacted
	// segment: a fetch reads whole entries, so it is about a fetch's size.
	SegmentEntryBytes int64 `yaml:"segment_entry_bytes"`
	// ObjectGrace is how long an object that no entry names any more is
	// kept: longer than a fetch or a compaction that read the entry before
	// it was let go can take.
	ObjectGrace time.Duration `yaml:"object_grace"`
}

// RegisterFlags registers the maintenance flags with their defaults.
func (c *MaintenanceConfig) RegisterFlags(prefix string, f *flag.FlagSet) {
	f.DurationVar(&c.Interval, prefix+"maintenance-interval", 30*time.Second, "How often compaction, retention and cleanup look at every partition; 0 turns them off.")
	f.IntVar(&c.CompactMinEntries, prefix+"compact-min-entries", 16, "Fewest small index entries of a partition that one compaction merges into a segment.")
	f.DurationVar(&c.CompactMinAge, prefix+"compact-min-age", time.Minute, "How old an object must be before its entries are compacted (ten times this, and an ingest object's entries are compacted even alone, so the object can be deleted).")
	f.Int64Var(&c.SegmentBytes, prefix+"segment-bytes", 32<<20, "Size compacted segments grow to; each is built in memory, and the memory limit counts one.")
	f.Int64Var(&c.SegmentEntryBytes, prefix+"segment-entry-bytes", 1<<20, "Bytes each index entry of a compacted segment covers; a fetch reads at least one whole entry.")
	f.DurationVar(&c.ObjectGrace, prefix+"object-grace", 10*time.Minute, "How long an object no index entry names any more is kept before it is deleted.")
}

// Validate says what is wrong with the maintenance flags.
func (c *MaintenanceConfig) Validate() error {
	switch {
	case c.Interval < 0:
		return errors.New("--maintenance-interval must not be negative")
	case c.CompactMinEntries < 2:
		return errors.New("--compact-min-entries must be at least 2")
	case c.CompactMinAge < 0:
		return errors.New("--compact-min-age must not be negative")
	case c.SegmentBytes < 1<<10 || c.SegmentBytes > 1<<30:
		return errors.New("--segment-bytes must be between 1KiB and 1GiB")
	case c.SegmentEntryBytes < 1<<10 || c.SegmentEntryBytes > c.SegmentBytes:
		return errors.New("--segment-entry-bytes must be between 1KiB and --segment-bytes")
	case c.ObjectGrace < 0:
		return errors.New("--object-grace must not be negative")
	}
	return nil
}

// lifecycleStore is what maintenance needs of the store beyond Store.
type lifecycleStore interface {
	metadata.Lifecycle
	metadata.OrphanLog
}

// maintainer runs maintenance for one agent; run owns its goroutine.
type maintainer struct {
	cfg    MaintenanceConfig
	store  Store
	life   lifecycleStore
	bucket bucket.Bucket
	// reader keeps nothing: maintenance reads each range once, and must
	// not push the fetch path's ranges out of its cache.
	reader *tiering.Reader
	log    *slog.Logger
	// holder names this agent in leases.
	holder string
	now    func() time.Time
}

// newMaintainer returns the agent's maintainer, or nil when maintenance is
// off or the store cannot compact (it has no Lifecycle).
func (srv *Server) newMaintainer() *maintainer {
	life, ok := srv.deps.Store.(lifecycleStore)
	if !ok || srv.cfg.Maintenance.Interval == 0 {
		return nil
	}
	return &maintainer{
		cfg:    srv.cfg.Maintenance,
		store:  srv.deps.Store,
		life:   life,
		bucket: srv.deps.Bucket,
		reader: tiering.NewReader(srv.deps.Bucket, 0),
		log:    srv.log,
		holder: srv.Advertised() + "/" + uuid.NewString(),
		now:    time.Now,
	}
}

// run tends every partition each interval until ctx ends.
func (m *maintainer) run(ctx context.Context) {
	t := time.NewTicker(m.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			m.round(ctx)
		}
	}
}

// round tends each partition whose lease this agent takes, then cleans up.
// Agents walk the partitions in a random order each round, so that their
// leases, which lapse before the next round, spread the work among them.
func (m *maintainer) round(ctx context.Context) {
	topics, err := m.store.Topics(ctx)
	if err != nil {
		m.warn(ctx, "listing topics for maintenance", err)
		return
	}
	type part struct {
		t *metadata.Topic
		i int32
	}
	var parts []part
	for ti := range topics {
		if isInternalTopic(topics[ti].Name) {
			continue // never written: nothing to compact or retain
		}
		for i := range topics[ti].Partitions {
			parts = append(parts, part{&topics[ti], i})
		}
	}
	rand.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
	for _, p := range parts {
		if ctx.Err() != nil {
			return
		}
		m.tend(ctx, *p.t, metadata.Partition{Topic: p.t.ID, Index: p.i})
	}
	m.cleanup(ctx)
}

// lease takes the named lease until just before the next round.
func (m *maintainer) lease(ctx context.Context, name string) bool {
	ok, err := m.life.Lease(ctx, name, m.holder, m.cfg.Interval*9/10)
	if err != nil {
		m.warn(ctx, "taking maintenance lease", err, "lease", name)
	}
	return ok && err == nil
}

// warn logs err unless ctx ended, which is no failure.
func (m *maintainer) warn(ctx context.Context, msg string, err error, args ...any) {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return
	}
	m.log.Warn(msg, append(args, "err", err)...)
}

// letGo records objects about to be compacted or trimmed away in the
// orphan log, stamped now: cleanup deletes them once the grace period has
// passed and no partition names them. An earlier record of the same
// object (another partition let go of it before) is replaced, so the grace
// period counts from the last partition to let go.
func (m *maintainer) letGo(ctx context.Context, es []metadata.IndexEntry) error {
	seen := make(map[string]bool, len(es))
	for _, e := range es {
		if seen[e.Object] {
			continue
		}
		seen[e.Object] = true
		if err := m.life.ForgetOrphan(ctx, e.Object); err != nil {
			return err
		}
		if err := m.life.RecordOrphan(ctx, e.Object); err != nil {
			return err
		}
	}
	return nil
}

// orphan records an object that may or may not be referenced (a swap whose
// outcome is unknown, an upload that failed); cleanup settles it.
func (m *maintainer) orphan(ctx context.Context, key string) {
	if err := m.life.RecordOrphan(context.WithoutCancel(ctx), key); err != nil {
		m.log.Warn("recording orphaned object", "segment", key, "err", err)
	}
}

func partitionLease(p metadata.Partition) string {
	return fmt.Sprintf("partition:%s:%d", p.Topic, p.Index)
}

var (
	compactions, _ = meter.Int64Counter("sluice.agent.compactions",
		metric.WithUnit("{compaction}"), metric.WithDescription("Compactions of a partition's index entries into one segment, by result."))
	compactedEntries, _ = meter.Int64Counter("sluice.agent.compaction.entries",
		metric.WithUnit("{entry}"), metric.WithDescription("Index entries replaced by compacted segments."))
	retentionTrims, _ = meter.Int64Counter("sluice.agent.retention.trims",
		metric.WithUnit("{trim}"), metric.WithDescription("Log-start moves made by retention."))
	objectsDeleted, _ = meter.Int64Counter("sluice.agent.objects.deleted",
		metric.WithUnit("{object}"), metric.WithDescription("Objects deleted by cleanup: let go by compaction or retention, or orphaned by a failed commit."))
)

// Compaction results, the values of the result label.
const (
	compactDone     = "done"     // the entries were swapped for the segment
	compactConflict = "conflict" // another agent changed them first; the segment was deleted
	compactFailed   = "failed"   // building, uploading or swapping failed
)

var compactResults = map[string]metric.MeasurementOption{}

func init() {
	for _, r := range []string{compactDone, compactConflict, compactFailed} {
		compactResults[r] = metric.WithAttributes(attribute.String("result", r))
		compactions.Add(context.Background(), 0, compactResults[r])
	}
	compactedEntries.Add(context.Background(), 0)
	retentionTrims.Add(context.Background(), 0)
	objectsDeleted.Add(context.Background(), 0)
}
