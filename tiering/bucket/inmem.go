package bucket

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
)

// InMem is a Bucket held in memory, for tests and `sluice dev`. It copies
// data in and out, so callers may reuse their slices.
type InMem struct {
	mu      sync.RWMutex
	objects map[string][]byte
}

var _ Bucket = (*InMem)(nil)

// NewInMem returns an empty in-memory bucket.
func NewInMem() *InMem { return &InMem{objects: map[string][]byte{}} }

// Upload implements Bucket.
func (b *InMem) Upload(ctx context.Context, key string, data []byte) error {
	if err := check(ctx, key); err != nil {
		return fmt.Errorf("uploading %s: %w", key, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.objects[key] = bytes.Clone(data)
	return nil
}

// GetRange implements Bucket. The reader holds a copy, so a later Upload or
// Delete does not change what it returns.
func (b *InMem) GetRange(ctx context.Context, key string, off, length int64) (io.ReadCloser, error) {
	if err := check(ctx, key); err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	if err := CheckRange(off); err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	data, ok := b.objects[key]
	if !ok {
		return nil, fmt.Errorf("reading %s: %w", key, ErrNotFound)
	}
	data = data[min(off, int64(len(data))):]
	if length >= 0 && length < int64(len(data)) {
		data = data[:length]
	}
	return io.NopCloser(bytes.NewReader(bytes.Clone(data))), nil
}

// Size implements Bucket.
func (b *InMem) Size(ctx context.Context, key string) (int64, error) {
	if err := check(ctx, key); err != nil {
		return 0, fmt.Errorf("sizing %s: %w", key, err)
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	data, ok := b.objects[key]
	if !ok {
		return 0, fmt.Errorf("sizing %s: %w", key, ErrNotFound)
	}
	return int64(len(data)), nil
}

// Iter implements Bucket. It lists the keys present when it starts; fn may
// upload or delete.
func (b *InMem) Iter(ctx context.Context, prefix string, fn func(key string) error) error {
	for _, key := range b.keys(prefix) {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("listing %q: %w", prefix, err)
		}
		if err := fn(key); err != nil {
			return err
		}
	}
	return nil
}

func (b *InMem) keys(prefix string) []string {
	b.mu.RLock()
	defer b.mu.RUnlock()
	var keys []string
	for key := range b.objects {
		if strings.HasPrefix(key, prefix) {
			keys = append(keys, key)
		}
	}
	slices.Sort(keys)
	return keys
}

// Delete implements Bucket.
func (b *InMem) Delete(ctx context.Context, key string) error {
	if err := check(ctx, key); err != nil {
		return fmt.Errorf("deleting %s: %w", key, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.objects, key)
	return nil
}

// check refuses cancelled contexts and invalid keys, as a remote store would.
func check(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return ValidateKey(key)
}
