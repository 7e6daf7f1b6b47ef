package memory_test

import (
	"testing"
	"testing/synctest"

	"github.com/sluicehq/sluice/metadata"
	"github.com/sluicehq/sluice/metadata/memory"
	"github.com/sluicehq/sluice/metadata/metadatatest"
)

// The registry's expiry runs on the process clock, so the cases run on
// virtual time.
func TestRegistry(t *testing.T) {
	metadatatest.RegistryTest(t, func(t *testing.T) metadata.Registry { return memory.New() }, synctest.Test)
}
