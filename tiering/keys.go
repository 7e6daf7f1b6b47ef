package tiering

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Key layout. Every key embeds its creation time and 64 random bits, so a
// key is never made twice and a retried PUT can only rewrite its own bytes:
//
//	ingest/<UTC date>/<unix nanos, 19 digits>-<16 hex>
//	segments/<topic ID hex>/<partition>/<base offset, 20 digits>-<unix nanos>-<16 hex>
//
// Ingest keys are grouped by day so orphan cleanup lists only the days past
// the grace period; zero-padded numbers make lexical order time order (and
// offset order for segments), which is the order Bucket.Iter walks.
const (
	IngestPrefix   = "ingest/"
	SegmentsPrefix = "segments/"

	dateLayout = "2006-01-02"
)

// NewIngestKey returns a fresh key for an agent's flush object.
func NewIngestKey() string { return IngestKeyAt(time.Now()) }

// IngestKeyAt returns a fresh ingest key stamped with t.
func IngestKeyAt(t time.Time) string {
	return IngestDayPrefix(t) + stamp(t)
}

// IngestDayPrefix is the prefix of every ingest key made on t's UTC day.
func IngestDayPrefix(t time.Time) string {
	return IngestPrefix + t.UTC().Format(dateLayout) + "/"
}

// NewSegmentKey returns a fresh key for a compacted segment of one
// partition, starting at baseOffset.
func NewSegmentKey(topicID [16]byte, partition int32, baseOffset int64) string {
	return SegmentKeyAt(topicID, partition, baseOffset, time.Now())
}

// SegmentKeyAt returns a fresh segment key stamped with t.
func SegmentKeyAt(topicID [16]byte, partition int32, baseOffset int64, t time.Time) string {
	return fmt.Sprintf("%s%020d-%s", PartitionSegmentsPrefix(topicID, partition), baseOffset, stamp(t))
}

// PartitionSegmentsPrefix is the prefix of every compacted segment of a
// partition; Iter under it walks them in offset order.
func PartitionSegmentsPrefix(topicID [16]byte, partition int32) string {
	return fmt.Sprintf("%s%x/%d/", SegmentsPrefix, topicID, partition)
}

// stamp is "<unix nanos>-<16 random hex>".
func stamp(t time.Time) string {
	var r [8]byte
	rand.Read(r[:]) // never fails: crypto/rand crashes the program instead
	return fmt.Sprintf("%019d-%s", t.UnixNano(), hex.EncodeToString(r[:]))
}

// KeyTime returns when the object under key was created, from the key
// alone, so orphan cleanup can apply its grace period without a HEAD.
func KeyTime(key string) (time.Time, error) {
	parts := strings.Split(key, "/")
	switch {
	case len(parts) == 3 && parts[0]+"/" == IngestPrefix:
		return ingestTime(parts[1], parts[2], key)
	case len(parts) == 4 && parts[0]+"/" == SegmentsPrefix:
		off, rest, _ := strings.Cut(parts[3], "-")
		if _, err := strconv.ParseUint(off, 10, 63); err != nil {
			return time.Time{}, fmt.Errorf("%w: %q has no base offset", ErrNotSluiceKey, key)
		}
		return parseStamp(rest, key)
	}
	return time.Time{}, fmt.Errorf("%w: %q", ErrNotSluiceKey, key)
}

func ingestTime(day, name, key string) (time.Time, error) {
	t, err := parseStamp(name, key)
	if err != nil {
		return t, err
	}
	if t.Format(dateLayout) != day {
		return time.Time{}, fmt.Errorf("%w: %q is filed under %s but stamped %s", ErrNotSluiceKey, key, day, t.Format(dateLayout))
	}
	return t, nil
}

// parseStamp parses "<unix nanos>-<16 hex>".
func parseStamp(s, key string) (time.Time, error) {
	nanos, random, ok := strings.Cut(s, "-")
	n, err := strconv.ParseInt(nanos, 10, 64)
	if !ok || err != nil || len(nanos) != 19 || len(random) != 16 || !isHex(random) {
		return time.Time{}, fmt.Errorf("%w: %q has no <nanos>-<random> stamp", ErrNotSluiceKey, key)
	}
	return time.Unix(0, n).UTC(), nil
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}

// CommitCountKey holds the highest metadata commit count an agent has
// seen, in decimal. Agents compare it with the store's count at start: a
// store that counts fewer commits has lost acknowledged writes.
const CommitCountKey = "meta/commit-count"
