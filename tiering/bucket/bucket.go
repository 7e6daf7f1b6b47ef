package bucket

import (
	"context"
	"errors"
	"io"
)

// ErrNotFound is returned when the key (or the bucket itself) does not exist.
// Backends translate their own not-found errors into it.
var ErrNotFound = errors.New("object not found")

// Bucket is an object store. Keys are slash-separated paths without a
// leading slash.
type Bucket interface {
	// Upload stores data under key, replacing what was there. It is
	// idempotent: retrying with the same key and data is safe. When it
	// returns nil the object is durable and readable by every agent.
	Upload(ctx context.Context, key string, data []byte) error
	// GetRange returns length bytes of the object from off; length < 0 reads
	// to the end. It returns ErrNotFound if the key does not exist. The
	// caller closes the reader.
	GetRange(ctx context.Context, key string, off, length int64) (io.ReadCloser, error)
	// Size returns the object's length in bytes, or ErrNotFound.
	Size(ctx context.Context, key string) (int64, error)
	// Iter calls fn with every key under prefix, in lexical order. A
	// non-nil error from fn stops the walk and is returned.
	Iter(ctx context.Context, prefix string, fn func(key string) error) error
	// Delete removes key. Deleting a missing key returns nil.
	Delete(ctx context.Context, key string) error
}
