package redis_test

import (
	"testing"

	"github.com/sluicehq/sluice/integration/testenv"
	"github.com/sluicehq/sluice/metadata/metadatatest"
	"github.com/sluicehq/sluice/metadata/redis"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func open(t *testing.T, url string) *redis.Store {
	t.Helper()
	s, err := redis.Open(t.Context(), url)
	if err != nil {
		t.Fatalf("Open(%s): %v", url, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestAcceptance(t *testing.T) {
	metadatatest.AcceptanceTest(t,
		func(t *testing.T) metadatatest.Store { return open(t, testenv.StartRedis(t).URL()) },
		metadatatest.WithPair(func(t *testing.T) (metadatatest.Store, metadatatest.Store) {
			r := testenv.StartRedis(t)
			return open(t, r.URL()), open(t, r.URL())
		}))
}

// TestAcceptanceCluster runs the suite on a Redis Cluster of three
// primaries. One cluster serves every case, emptied before each.
func TestAcceptanceCluster(t *testing.T) {
	c := testenv.StartRedisCluster(t)
	metadatatest.AcceptanceTest(t,
		func(t *testing.T) metadatatest.Store { c.Flush(t); return open(t, c.URL()) },
		metadatatest.WithPair(func(t *testing.T) (metadatatest.Store, metadatatest.Store) {
			c.Flush(t)
			return open(t, c.URL()), open(t, c.URL())
		}))
}
