package memory_test

import (
	"testing"

	"github.com/sluicehq/sluice/metadata/memory"
	"github.com/sluicehq/sluice/metadata/metadatatest"
)

func TestAcceptance(t *testing.T) {
	metadatatest.AcceptanceTest(t, func(t *testing.T) metadatatest.Store { return memory.New() })
}

// The persistent store must pass too, reopened after every change would be
// too slow, so it is reopened in TestReopen instead.
func TestAcceptancePersistent(t *testing.T) {
	metadatatest.AcceptanceTest(t, func(t *testing.T) metadatatest.Store {
		s, err := memory.Open(t.TempDir())
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}
