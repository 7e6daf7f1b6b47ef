package agent

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/metadata"
	"github.com/sluicehq/sluice/tiering"
	"github.com/sluicehq/sluice/tiering/compaction"
	"github.com/sluicehq/sluice/tiering/retention"
	"github.com/sluicehq/sluice/tiering/segment"
)

// indexPage is how many entries one Index call reads while maintenance
// walks a partition's whole index.
const indexPage = 1000

// errIndexMoved is returned by entries when the pages it read do not
// follow each other: the index changed between two reads.
var errIndexMoved = errors.New("index changed while it was read")

// tend applies retention and then compaction to p, if this agent takes
// its lease.
func (m *maintainer) tend(ctx context.Context, t metadata.Topic, p metadata.Partition) {
	if !m.lease(ctx, partitionLease(p)) {
		return
	}
	es, hw, err := m.entries(ctx, p)
	if err != nil {
		if !errors.Is(err, errIndexMoved) {
			m.warn(ctx, "reading index for maintenance", err, "topic", t.Name, "partition", p.Index)
		}
		return
	}
	if es, err = m.retain(ctx, t, p, es, hw); err != nil {
		if !errors.Is(err, metadata.ErrConflict) {
			m.warn(ctx, "applying retention", err, "topic", t.Name, "partition", p.Index)
		}
		return
	}
	m.compact(ctx, t, p, es)
}

// entries reads p's whole index from its log start, and its high
// watermark.
func (m *maintainer) entries(ctx context.Context, p metadata.Partition) ([]metadata.IndexEntry, int64, error) {
	os, err := m.store.Offsets(ctx, []metadata.Partition{p})
	if err != nil {
		return nil, 0, err
	}
	var es []metadata.IndexEntry
	for from := os[0].LogStart; from < os[0].HighWatermark; {
		page, err := m.store.Index(ctx, p, from, indexPage)
		if err != nil {
			return nil, 0, err
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			if len(es) > 0 && e.BaseOffset != es[len(es)-1].LastOffset+1 {
				return nil, 0, errIndexMoved
			}
			es = append(es, e)
		}
		from = page[len(page)-1].LastOffset + 1
	}
	return es, os[0].HighWatermark, nil
}

// retain moves p's log start past the entries the topic's retention lets
// go, and returns those that remain.
func (m *maintainer) retain(ctx context.Context, t metadata.Topic, p metadata.Partition, es []metadata.IndexEntry, hw int64) ([]metadata.IndexEntry, error) {
	pol, ok := retentionPolicy(t)
	if !ok || len(es) == 0 {
		return es, nil
	}
	res := make([]retention.Entry, len(es))
	for i, e := range es {
		res[i] = retention.Entry{BaseOffset: e.BaseOffset, Len: e.Len, MaxTimestamp: e.MaxTimestamp, Created: created(e.Object, m.now())}
	}
	start := retention.LogStart(res, pol, m.now(), hw)
	if start <= es[0].BaseOffset {
		return es, nil
	}
	n := 0
	for n < len(es) && es[n].BaseOffset < start {
		n++
	}
	if err := m.letGo(ctx, es[:n]); err != nil {
		return nil, err
	}
	if err := m.life.Trim(ctx, p, start); err != nil {
		return nil, err
	}
	retentionTrims.Add(ctx, 1)
	m.log.Info("retention moved the log start", "topic", t.Name, "partition", p.Index, "offset", start, "entries", n)
	return es[n:], nil
}

// retentionPolicy is the topic's retention, and false when its cleanup
// policy does not delete.
func retentionPolicy(t metadata.Topic) (retention.Policy, bool) {
	if !slices.Contains(splitList(topicConfig(t, "cleanup.policy")), "delete") {
		return retention.Policy{}, false
	}
	ms, err1 := strconv.ParseInt(topicConfig(t, "retention.ms"), 10, 64)
	bytes, err2 := strconv.ParseInt(topicConfig(t, "retention.bytes"), 10, 64)
	if err1 != nil || err2 != nil {
		return retention.Policy{}, false
	}
	age := time.Duration(-1)
	if ms >= 0 && ms <= math.MaxInt64/int64(time.Millisecond) {
		age = time.Duration(ms) * time.Millisecond
	}
	return retention.Policy{Age: age, Bytes: bytes}, true
}

// compact merges the runs of es that the policy picks, one segment each.
// The entries of one segment are one source to the policy: it weighs
// segments, not the entries a segment is cut into.
func (m *maintainer) compact(ctx context.Context, t metadata.Topic, p metadata.Partition, es []metadata.IndexEntry) {
	now := m.now()
	var srcs []compaction.Source
	for _, e := range es {
		if n := len(srcs); n > 0 && srcs[n-1].Object == e.Object && srcs[n-1].Pos+srcs[n-1].Len == e.Pos {
			last := &srcs[n-1]
			last.Len += e.Len
			last.LastOffset = e.LastOffset
			last.MaxTimestamp = max(last.MaxTimestamp, e.MaxTimestamp)
			continue
		}
		srcs = append(srcs, compaction.Source{Object: e.Object, Pos: e.Pos, Len: e.Len, BaseOffset: e.BaseOffset,
			LastOffset: e.LastOffset, MaxTimestamp: e.MaxTimestamp, Created: created(e.Object, now),
			Shared: strings.HasPrefix(e.Object, tiering.IngestPrefix)})
	}
	pol := compaction.Policy{MinEntries: m.cfg.CompactMinEntries, MinAge: m.cfg.CompactMinAge,
		TargetBytes: m.cfg.SegmentBytes, ReleaseAge: 10 * m.cfg.CompactMinAge}
	for _, run := range compaction.Plan(srcs, pol, now) {
		if ctx.Err() != nil {
			return
		}
		m.compactRun(ctx, t, p, entriesOf(es, run[0].BaseOffset, run[len(run)-1].LastOffset), run)
	}
}

// entriesOf is the run of es, in offset order, from the entry starting at
// base to the one ending at last.
func entriesOf(es []metadata.IndexEntry, base, last int64) []metadata.IndexEntry {
	find := func(off int64) int {
		i, _ := slices.BinarySearchFunc(es, off, func(e metadata.IndexEntry, off int64) int {
			return cmp.Compare(e.BaseOffset, off)
		})
		return i
	}
	return es[find(base):find(last+1)]
}

// compactRun writes one segment for old and swaps it in. The order keeps
// every outcome safe: the segment is uploaded, then the objects of old are
// recorded for cleanup, then the swap is tried; a segment whose swap
// certainly failed is deleted at once, one whose swap may have happened is
// left to cleanup.
func (m *maintainer) compactRun(ctx context.Context, t metadata.Topic, p metadata.Partition, old []metadata.IndexEntry, srcs []compaction.Source) {
	sec := segment.Section{Topic: t.Name, TopicID: p.Topic, Partition: p.Index}
	log := m.log.With("topic", t.Name, "partition", p.Index, "offset", old[0].BaseOffset)
	seg, err := compaction.Compact(ctx, m.reader, m.bucket, sec, srcs, m.cfg.SegmentEntryBytes)
	if err != nil {
		if seg.Key != "" {
			m.orphan(ctx, seg.Key)
		}
		compactions.Add(ctx, 1, compactResults[compactFailed])
		m.warn(ctx, "compacting", err, "topic", t.Name, "partition", p.Index, "offset", old[0].BaseOffset)
		return
	}
	if err := m.letGo(ctx, old); err != nil {
		m.discard(ctx, seg.Key)
		compactions.Add(ctx, 1, compactResults[compactFailed])
		m.warn(ctx, "recording compacted objects for cleanup", err, "topic", t.Name, "partition", p.Index)
		return
	}
	repl := make([]metadata.IndexEntry, len(seg.Entries))
	for i, e := range seg.Entries {
		repl[i] = metadata.IndexEntry{BaseOffset: e.BaseOffset, LastOffset: e.LastOffset, MaxTimestamp: e.MaxTimestamp,
			Object: seg.Key, Pos: e.Pos, Len: e.Len}
	}
	err = m.life.ReplaceEntries(ctx, p, old, repl)
	switch {
	case err == nil:
		compactions.Add(ctx, 1, compactResults[compactDone])
		compactedEntries.Add(ctx, int64(len(old)))
		log.Info("compacted", "segment", seg.Key, "entries", len(old), "new_entries", len(repl), "bytes", seg.Len)
	case errors.Is(err, metadata.ErrConflict), errors.Is(err, metadata.ErrUnknownTopic):
		compactions.Add(ctx, 1, compactResults[compactConflict])
		log.Debug("compaction lost to a concurrent change", "segment", seg.Key, "err", err)
		m.discard(ctx, seg.Key)
	default:
		compactions.Add(ctx, 1, compactResults[compactFailed])
		m.warn(ctx, "swapping in compacted segment", fmt.Errorf("%s: %w", seg.Key, err), "topic", t.Name, "partition", p.Index)
		m.orphan(ctx, seg.Key)
	}
}

// discard deletes a segment no entry names; if that fails, cleanup will.
func (m *maintainer) discard(ctx context.Context, key string) {
	if err := m.bucket.Delete(context.WithoutCancel(ctx), key); err != nil {
		m.orphan(ctx, key)
	}
}

// created is when object was written, from its key; an unknown key counts
// as just written, so that it is never old enough to act on.
func created(object string, now time.Time) time.Time {
	t, err := tiering.KeyTime(object)
	if err != nil {
		return now
	}
	return t
}
