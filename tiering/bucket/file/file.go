package file

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/sluicehq/sluice/tiering/bucket"
)

// tmpPrefix names files being written. Iter skips them and keys may not use
// the prefix, so an upload in progress is never visible.
const tmpPrefix = ".tmp-"

// Bucket stores each object as a file under a root directory, the key's
// slashes becoming subdirectories.
type Bucket struct {
	root string
}

var _ bucket.Bucket = (*Bucket)(nil)

// New returns a bucket rooted at dir, creating the directory if needed.
func New(dir string) (*Bucket, error) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("resolving bucket directory %s: %w", dir, err)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("creating bucket directory: %w", err)
	}
	return &Bucket{root: root}, nil
}

// Dir returns the root directory.
func (b *Bucket) Dir() string { return b.root }

func (b *Bucket) path(key string) string {
	return filepath.Join(b.root, filepath.FromSlash(key))
}

// Upload implements bucket.Bucket. It writes a temporary file beside the
// target, fsyncs it, renames it over the target and fsyncs the directory, so
// after a crash the key holds either the old object or the whole new one.
func (b *Bucket) Upload(ctx context.Context, key string, data []byte) error {
	if err := check(ctx, key); err != nil {
		return fmt.Errorf("uploading %s: %w", key, err)
	}
	p := b.path(key)
	if err := b.mkdirs(filepath.Dir(p)); err != nil {
		return fmt.Errorf("uploading %s: creating directory: %w", key, err)
	}
	if err := writeAtomic(p, data); err != nil {
		return fmt.Errorf("uploading %s: %w", key, err)
	}
	return nil
}

func writeAtomic(p string, data []byte) (err error) {
	dir := filepath.Dir(p)
	f, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), p); err != nil {
		return err
	}
	return syncDir(dir)
}

// mkdirs creates dir and its missing parents up to the root, fsyncing each
// parent so the new directory entries survive a crash too.
func (b *Bucket) mkdirs(dir string) error {
	if _, err := os.Stat(dir); err == nil || dir == b.root {
		return err
	}
	parent := filepath.Dir(dir)
	if err := b.mkdirs(parent); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return syncDir(parent)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}

// GetRange implements bucket.Bucket.
func (b *Bucket) GetRange(ctx context.Context, key string, off, length int64) (io.ReadCloser, error) {
	if err := check(ctx, key); err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	if err := bucket.CheckRange(off); err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	f, size, err := b.open(key)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	start := min(off, size)
	n := size - start
	if length >= 0 && length < n {
		n = length
	}
	return struct {
		io.Reader
		io.Closer
	}{io.NewSectionReader(f, start, n), f}, nil
}

// open opens the object's file and returns its size; a directory or a
// missing path is bucket.ErrNotFound.
func (b *Bucket) open(key string) (*os.File, int64, error) {
	f, err := os.Open(b.path(key))
	if err != nil {
		return nil, 0, notFound(err)
	}
	st, err := f.Stat()
	if err == nil && st.IsDir() {
		err = bucket.ErrNotFound
	}
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, st.Size(), nil
}

// Size implements bucket.Bucket.
func (b *Bucket) Size(ctx context.Context, key string) (int64, error) {
	if err := check(ctx, key); err != nil {
		return 0, fmt.Errorf("sizing %s: %w", key, err)
	}
	st, err := os.Stat(b.path(key))
	if err == nil && st.IsDir() {
		err = bucket.ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("sizing %s: %w", key, notFound(err))
	}
	return st.Size(), nil
}

// Delete implements bucket.Bucket. Emptied directories are left in place:
// removing them would race with an Upload creating a file in them.
func (b *Bucket) Delete(ctx context.Context, key string) error {
	if err := check(ctx, key); err != nil {
		return fmt.Errorf("deleting %s: %w", key, err)
	}
	p := b.path(key)
	st, err := os.Lstat(p)
	if err != nil || st.IsDir() {
		if err = notFound(err); err == nil || errors.Is(err, bucket.ErrNotFound) {
			return nil
		}
		return fmt.Errorf("deleting %s: %w", key, err)
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("deleting %s: %w", key, err)
	}
	if err := syncDir(filepath.Dir(p)); err != nil {
		return fmt.Errorf("deleting %s: %w", key, err)
	}
	return nil
}

// notFound turns the ways a path can be missing into bucket.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return bucket.ErrNotFound
	}
	return err
}

func check(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := bucket.ValidateKey(key); err != nil {
		return err
	}
	if strings.HasPrefix(key, tmpPrefix) || strings.Contains(key, "/"+tmpPrefix) {
		return fmt.Errorf("%w: %q: names starting %q are reserved by the file bucket", bucket.ErrInvalidKey, key, tmpPrefix)
	}
	return nil
}
