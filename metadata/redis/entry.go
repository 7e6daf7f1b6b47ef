package redis

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/metadata"
)

// An index entry is stored as the member "base,last,maxTs,pos,len,object".
// The object key comes last and is taken whole, so it may hold commas; it
// may not hold line breaks, which end a notification line.

// decodeEntry parses a member written by commitScript.
func decodeEntry(m string) (metadata.IndexEntry, error) {
	f := strings.SplitN(m, ",", 6)
	if len(f) != 6 || f[5] == "" {
		return metadata.IndexEntry{}, fmt.Errorf("%w: index entry %q", errBadReply, m)
	}
	var n [5]int64
	for i := range n {
		v, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return metadata.IndexEntry{}, fmt.Errorf("%w: index entry %q: %w", errBadReply, m, err)
		}
		n[i] = v
	}
	if n[1] < n[0] || n[3] < 0 || n[4] < 0 {
		return metadata.IndexEntry{}, fmt.Errorf("%w: index entry %q", errBadReply, m)
	}
	return metadata.IndexEntry{BaseOffset: n[0], LastOffset: n[1], MaxTimestamp: n[2],
		Pos: n[3], Len: n[4], Object: f[5]}, nil
}

func decodeEntries(ms []string) ([]metadata.IndexEntry, error) {
	es := make([]metadata.IndexEntry, 0, len(ms))
	for _, m := range ms {
		e, err := decodeEntry(m)
		if err != nil {
			return nil, err
		}
		es = append(es, e)
	}
	return es, nil
}

// parsePartition is the inverse of partitionName.
func parsePartition(s string) (metadata.Partition, error) {
	id, idx, ok := strings.Cut(s, ":")
	u, err := uuid.Parse(id)
	if !ok || err != nil {
		return metadata.Partition{}, fmt.Errorf("%w: partition %q", errBadReply, s)
	}
	n, err := strconv.ParseInt(idx, 10, 32)
	if err != nil || n < 0 {
		return metadata.Partition{}, fmt.Errorf("%w: partition %q", errBadReply, s)
	}
	return metadata.Partition{Topic: metadata.TopicID(u), Index: int32(n)}, nil
}

// parseNotification parses a commitScript notification: "p" lines open a
// partition, "e" lines add its entries.
func parseNotification(payload string) ([]metadata.Appended, error) {
	var as []metadata.Appended
	for line := range strings.Lines(payload) {
		line = strings.TrimSuffix(line, "\n")
		kind, rest, _ := strings.Cut(line, " ")
		switch {
		case kind == "s":
			continue // the commit counter; see notificationCount
		case kind == "p":
			a, err := parseHeader(rest)
			if err != nil {
				return nil, err
			}
			as = append(as, a)
		case kind == "e" && len(as) > 0:
			e, err := decodeEntry(rest)
			if err != nil {
				return nil, err
			}
			as[len(as)-1].Entries = append(as[len(as)-1].Entries, e)
		default:
			return nil, fmt.Errorf("%w: notification line %q", errBadReply, line)
		}
	}
	if len(as) == 0 {
		return nil, fmt.Errorf("%w: empty notification", errBadReply)
	}
	return as, nil
}

// parseHeader parses "<partition name> <high watermark>".
func parseHeader(s string) (metadata.Appended, error) {
	name, hw, _ := strings.Cut(s, " ")
	p, err := parsePartition(name)
	if err != nil {
		return metadata.Appended{}, err
	}
	n, err := strconv.ParseInt(hw, 10, 64)
	if err != nil {
		return metadata.Appended{}, fmt.Errorf("%w: high watermark %q", errBadReply, hw)
	}
	return metadata.Appended{Partition: p, HighWatermark: n}, nil
}

// notificationCount returns the shard name and commit counter a
// notification carries in its first line, "s <count>[ <shard name>]", or a
// count of 0 if it carries none.
func notificationCount(payload string) (string, int64) {
	first, _, _ := strings.Cut(payload, "\n")
	kind, rest, _ := strings.Cut(first, " ")
	if kind != "s" {
		return "", 0
	}
	n, name, _ := strings.Cut(rest, " ")
	v, _ := strconv.ParseInt(n, 10, 64)
	return name, v
}
