package buckettest

import (
	"context"
	"io"
	"sync"

	"github.com/sluicehq/sluice/tiering/bucket"
)

// Faulty wraps a Bucket to inject errors and count calls. Set the FailNext*
// fields in the literal, or arm them later with the Fail* methods, which are
// safe while other goroutines use the bucket. Each armed error is returned
// once, by the next call of that method, and then cleared.
//
//	f := &buckettest.Faulty{Bucket: bucket.NewInMem(), FailNextUpload: errBoom}
type Faulty struct {
	bucket.Bucket

	// FailNextUpload fails the next Upload without storing anything.
	FailNextUpload error
	// FailNextUploadAfterWrite stores the next Upload and then returns the
	// error, as when S3 wrote the object but the response was lost.
	FailNextUploadAfterWrite error
	FailNextGetRange         error
	FailNextSize             error
	FailNextIter             error
	FailNextDelete           error

	mu    sync.Mutex
	calls map[string]int
}

var _ bucket.Bucket = (*Faulty)(nil)

// FailUpload arms err for the next Upload.
func (f *Faulty) FailUpload(err error) { f.set(&f.FailNextUpload, err) }

// FailUploadAfterWrite arms err for after the next Upload has stored its object.
func (f *Faulty) FailUploadAfterWrite(err error) { f.set(&f.FailNextUploadAfterWrite, err) }

// FailGetRange arms err for the next GetRange.
func (f *Faulty) FailGetRange(err error) { f.set(&f.FailNextGetRange, err) }

// FailSize arms err for the next Size.
func (f *Faulty) FailSize(err error) { f.set(&f.FailNextSize, err) }

// FailIter arms err for the next Iter.
func (f *Faulty) FailIter(err error) { f.set(&f.FailNextIter, err) }

// FailDelete arms err for the next Delete.
func (f *Faulty) FailDelete(err error) { f.set(&f.FailNextDelete, err) }

// Calls returns how many times op (a bucket.Op* name) was called, failed
// calls included.
func (f *Faulty) Calls(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

// Uploads returns how many times Upload was called: the PUT count.
func (f *Faulty) Uploads() int { return f.Calls(bucket.OpUpload) }

func (f *Faulty) set(field *error, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	*field = err
}

// take counts a call of op and returns and clears the error armed for it.
func (f *Faulty) take(op string, field *error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[op]++
	err := *field
	*field = nil
	return err
}

// Upload implements bucket.Bucket.
func (f *Faulty) Upload(ctx context.Context, key string, data []byte) error {
	if err := f.take(bucket.OpUpload, &f.FailNextUpload); err != nil {
		return err
	}
	f.mu.Lock()
	after := f.FailNextUploadAfterWrite
	f.FailNextUploadAfterWrite = nil
	f.mu.Unlock()
	if err := f.Bucket.Upload(ctx, key, data); err != nil {
		return err
	}
	return after
}

// GetRange implements bucket.Bucket.
func (f *Faulty) GetRange(ctx context.Context, key string, off, length int64) (io.ReadCloser, error) {
	if err := f.take(bucket.OpGetRange, &f.FailNextGetRange); err != nil {
		return nil, err
	}
	return f.Bucket.GetRange(ctx, key, off, length)
}

// Size implements bucket.Bucket.
func (f *Faulty) Size(ctx context.Context, key string) (int64, error) {
	if err := f.take(bucket.OpSize, &f.FailNextSize); err != nil {
		return 0, err
	}
	return f.Bucket.Size(ctx, key)
}

// Iter implements bucket.Bucket.
func (f *Faulty) Iter(ctx context.Context, prefix string, fn func(key string) error) error {
	if err := f.take(bucket.OpIter, &f.FailNextIter); err != nil {
		return err
	}
	return f.Bucket.Iter(ctx, prefix, fn)
}

// Delete implements bucket.Bucket.
func (f *Faulty) Delete(ctx context.Context, key string) error {
	if err := f.take(bucket.OpDelete, &f.FailNextDelete); err != nil {
		return err
	}
	return f.Bucket.Delete(ctx, key)
}
