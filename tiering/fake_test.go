package tiering

import (
	"context"
	"io"

	"github.com/sluicehq/sluice/tiering/bucket"
)

// A gatedBucket holds every GetRange until gate is closed, so a test can
// have many reads in flight at once.
type gatedBucket struct {
	bucket.Bucket
	gate chan struct{}
}

func (g *gatedBucket) GetRange(ctx context.Context, key string, off, length int64) (io.ReadCloser, error) {
	select {
	case <-g.gate:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return g.Bucket.GetRange(ctx, key, off, length)
}
