package redis_test

import (
	"testing"

	"github.com/sluicehq/sluice/integration/testenv"
	"github.com/sluicehq/sluice/metadata"
	"github.com/sluicehq/sluice/metadata/metadatatest"
)

// Expiry is measured by the server's clock: the cases wait in real time.
func TestRegistry(t *testing.T) {
	metadatatest.RegistryTest(t, func(t *testing.T) metadata.Registry {
		return open(t, testenv.StartRedis(t).URL())
	}, nil)
}

// The registry's keys share one slot, so it works on a cluster too.
func TestRegistryCluster(t *testing.T) {
	c := testenv.StartRedisCluster(t)
	metadatatest.RegistryTest(t, func(t *testing.T) metadata.Registry {
		c.Flush(t)
		return open(t, c.URL())
	}, nil)
}
