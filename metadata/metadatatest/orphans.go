package metadatatest

import (
	"slices"
	"testing"

	"github.com/sluicehq/sluice/metadata"
)

// testOrphans checks the optional OrphanLog: recording order, limits,
// recording twice, and forgetting.
func testOrphans(t *testing.T, h harness) {
	s, ok := h.newStore(t).(metadata.OrphanLog)
	if !ok {
		t.Skip("the store keeps no orphan log")
	}
	ctx := t.Context()
	if got, err := s.Orphans(ctx, 10); err != nil || len(got) != 0 {
		t.Fatalf("Orphans on an empty log = %v, %v", got, err)
	}
	for _, k := range []string{"ingest/a", "ingest/b", "ingest/a", "ingest/c"} {
		if err := s.RecordOrphan(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := s.Orphans(ctx, 2); !slices.Equal(got, []string{"ingest/a", "ingest/b"}) {
		t.Fatalf("Orphans(2) = %v, want oldest first", got)
	}
	if err := s.ForgetOrphan(ctx, "ingest/b"); err != nil {
		t.Fatal(err)
	}
	if err := s.ForgetOrphan(ctx, "ingest/missing"); err != nil {
		t.Fatalf("forgetting a missing key: %v", err)
	}
	if got, _ := s.Orphans(ctx, 10); !slices.Equal(got, []string{"ingest/a", "ingest/c"}) {
		t.Fatalf("Orphans = %v after forgetting ingest/b", got)
	}
}
