package produce

import (
	"context"
	"fmt"
	"hash/crc32"
	"sync"

	"github.com/sluicehq/sluice/metadata"
)

// fakeBucket counts uploads and can fail or block them.
type fakeBucket struct {
	mu         sync.Mutex
	uploads    map[string][]byte
	failNext   error
	failKey    string        // when set, only the upload of this key takes failNext
	block      chan struct{} // when set, uploads wait for it to close
	uploadKeys []string
}

func (b *fakeBucket) Upload(ctx context.Context, key string, data []byte) error {
	b.mu.Lock()
	block := b.block
	b.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.failNext; err != nil && (b.failKey == "" || b.failKey == key) {
		b.failNext = nil
		return err
	}
	if b.uploads == nil {
		b.uploads = make(map[string][]byte)
	}
	b.uploads[key] = data
	b.uploadKeys = append(b.uploadKeys, key)
	return nil
}

// UploadCRC checks crc as S3 does, so every test's flush checks the CRC
// the pipeline hands over.
func (b *fakeBucket) UploadCRC(ctx context.Context, key string, data []byte, crc uint32) error {
	if want := crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)); crc != want {
		return fmt.Errorf("uploading %s: CRC-32C %08x, the body's is %08x", key, crc, want)
	}
	return b.Upload(ctx, key, data)
}

func (b *fakeBucket) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.uploadKeys)
}

// fakeLog assigns dense offsets per partition and records commits.
type fakeLog struct {
	mu       sync.Mutex
	next     map[metadata.Partition]int64
	commits  []metadata.Commit
	failNext error
	// failPartition, when set, makes the next commit fail the batches of
	// that partition with ErrShardFailed, as a sharded store whose shard
	// failed does, and commit the rest.
	failPartition *metadata.Partition
}

func (l *fakeLog) Commit(_ context.Context, c metadata.Commit) ([]metadata.BatchResult, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.failNext; err != nil {
		l.failNext = nil
		return nil, err
	}
	if l.next == nil {
		l.next = make(map[metadata.Partition]int64)
	}
	l.commits = append(l.commits, c)
	out := make([]metadata.BatchResult, len(c.Batches))
	fail := l.failPartition
	l.failPartition = nil
	for i, b := range c.Batches {
		if fail != nil && b.Partition == *fail {
			out[i].Err = fmt.Errorf("%w: shard down", metadata.ErrShardFailed)
			continue
		}
		out[i].BaseOffset = l.next[b.Partition]
		l.next[b.Partition] += int64(b.Records)
	}
	return out, nil
}

func (l *fakeLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.commits)
}

func keys() func() string {
	var mu sync.Mutex
	n := 0
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		n++
		return fmt.Sprintf("ingest/%06d", n)
	}
}

// fakeOrphans records orphaned keys.
type fakeOrphans struct {
	mu   sync.Mutex
	keys []string
}

func (o *fakeOrphans) RecordOrphan(_ context.Context, key string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.keys = append(o.keys, key)
	return nil
}

func (o *fakeOrphans) recorded() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.keys...)
}
