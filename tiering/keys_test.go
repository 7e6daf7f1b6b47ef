package tiering

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/tiering/bucket"
)

func TestIngestKey(t *testing.T) {
	at := time.Date(2025, 3, 9, 23, 59, 59, 123456789, time.FixedZone("UTC+2", 2*3600))
	key := IngestKeyAt(at)
	if !strings.HasPrefix(key, "ingest/2025-03-09/") {
		t.Fatalf("key %q not filed under the UTC day", key)
	}
	if err := bucket.ValidateKey(key); err != nil {
		t.Fatal(err)
	}
	got, err := KeyTime(key)
	if err != nil || !got.Equal(at) {
		t.Fatalf("KeyTime(%q) = %v, %v; want %v", key, got, err, at)
	}
	if IngestKeyAt(at) == key {
		t.Fatal("two keys made at the same instant are equal")
	}
}

func TestSegmentKey(t *testing.T) {
	id := [16]byte{0xab, 1}
	at := time.Unix(1700000000, 5).UTC()
	key := SegmentKeyAt(id, 7, 1234, at)
	want := "segments/ab010000000000000000000000000000/7/00000000000000001234-"
	if !strings.HasPrefix(key, want) || !strings.HasPrefix(key, PartitionSegmentsPrefix(id, 7)) {
		t.Fatalf("key %q, want prefix %q", key, want)
	}
	if got, err := KeyTime(key); err != nil || !got.Equal(at) {
		t.Fatalf("KeyTime(%q) = %v, %v; want %v", key, got, err, at)
	}
	// Offsets sort as numbers.
	if SegmentKeyAt(id, 7, 999, at) > SegmentKeyAt(id, 7, 1000, at) {
		t.Fatal("segment keys do not sort in offset order")
	}
}

func TestKeysSortByTime(t *testing.T) {
	a := IngestKeyAt(time.Unix(1, 0))
	b := IngestKeyAt(time.Unix(1, 1))
	c := IngestKeyAt(time.Unix(100000, 0))
	if !(a < b && a[:len(a)-17] < c[:len(c)-17]) {
		t.Fatalf("ingest keys do not sort by time: %q %q %q", a, b, c)
	}
}

func TestKeyTimeRejects(t *testing.T) {
	for _, key := range []string{
		"", "other/x", "ingest/2025-01-01", "ingest/2025-01-01/123-abc",
		"ingest/2025-01-02/1735689600000000000-0123456789abcdef", // filed under the wrong day
		"ingest/2025-01-01/173568960000000000x-0123456789abcdef",
		"segments/ab/0/notanoffset-1735689600000000000-0123456789abcdef",
		"segments/ab/0/00000000000000000001-1735689600000000000-0123456789abcdeg",
	} {
		if _, err := KeyTime(key); !errors.Is(err, ErrNotSluiceKey) {
			t.Errorf("KeyTime(%q) = %v, want ErrNotSluiceKey", key, err)
		}
	}
	if _, err := KeyTime("ingest/2025-01-01/1735689600000000000-0123456789abcdef"); err != nil {
		t.Fatalf("KeyTime of a valid key: %v", err)
	}
}
