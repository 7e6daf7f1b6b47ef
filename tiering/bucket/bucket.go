package bucket

import (
	"context"
	"io"
)

// Bucket is an object store. Keys are slash-separated paths without a
// leading slash; ValidateKey says which are allowed, and every method returns
// ErrInvalidKey for any other. Implementations are safe for concurrent use
// and strongly consistent: once Upload or Delete returns, every reader sees
// its effect.
type Bucket interface {
	// Upload stores data under key, replacing what was there. It is
	// idempotent: retrying with the same key and data is safe. When it
	// returns nil the object is durable and readable by every agent. A
	// failed Upload leaves either the old object or the new one, never part
	// of one. The caller may reuse data once Upload returns.
	Upload(ctx context.Context, key string, data []byte) error
	// GetRange returns length bytes of the object from off; length < 0 reads
	// to the end. It returns ErrNotFound if the key does not exist, and
	// ErrInvalidRange if off < 0. A range that runs past the end is cut
	// short at the end, so one that starts there yields no bytes. The
	// caller closes the reader.
	GetRange(ctx context.Context, key string, off, length int64) (io.ReadCloser, error)
	// Size returns the object's length in bytes, or ErrNotFound.
	Size(ctx context.Context, key string) (int64, error)
	// Iter calls fn with every key that starts with prefix (a plain string
	// prefix, not a directory), in lexical byte order. A non-nil error from
	// fn stops the walk and is returned unwrapped.
	Iter(ctx context.Context, prefix string, fn func(key string) error) error
	// Delete removes key. Deleting a missing key returns nil.
	Delete(ctx context.Context, key string) error
}

// A CRCUploader is a Bucket that can be given the CRC-32C of what it
// stores, and checks it end to end: a body damaged on its way is refused,
// not stored. The caller that already has the CRC spares the store's client
// a pass over the body to compute one.
type CRCUploader interface {
	// UploadCRC is Upload, with crc the CRC-32C of data.
	UploadCRC(ctx context.Context, key string, data []byte, crc uint32) error
}

// UploadCRC stores data, whose CRC-32C is crc, under key: through u's
// UploadCRC when it has one, through Upload otherwise.
func UploadCRC(ctx context.Context, u Uploader, key string, data []byte, crc uint32) error {
	if c, ok := u.(CRCUploader); ok {
		return c.UploadCRC(ctx, key, data, crc)
	}
	return u.Upload(ctx, key, data)
}
