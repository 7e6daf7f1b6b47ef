package file

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/tiering/bucket"
)

// callbackError carries an error from Iter's callback through the walk, so
// it is returned unwrapped as the contract says.
type callbackError struct{ err error }

func (e callbackError) Error() string { return e.err.Error() }

// Iter implements bucket.Bucket. It walks only the directories that can hold
// keys with prefix, and visits each directory's entries sorted as their keys
// sort: a directory "a" sorts as "a/", after the file "a.b". So keys come out
// in lexical order without being collected first.
func (b *Bucket) Iter(ctx context.Context, prefix string, fn func(key string) error) error {
	dir, _ := path.Split(prefix)
	err := b.walk(ctx, strings.TrimSuffix(dir, "/"), prefix, fn)
	if ce, ok := errors.AsType[callbackError](err); ok {
		return ce.err
	}
	if err != nil {
		return fmt.Errorf("listing %q: %w", prefix, err)
	}
	return nil
}

// walk visits the directory of keys rel ("" for the root).
func (b *Bucket) walk(ctx context.Context, rel, prefix string, fn func(string) error) error {
	entries, err := os.ReadDir(filepath.Join(b.root, filepath.FromSlash(rel)))
	if err != nil {
		if errors.Is(notFound(err), bucket.ErrNotFound) {
			return nil // the prefix names a directory that does not exist
		}
		return err
	}
	for _, e := range sortedEntries(entries) {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := b.visit(ctx, path.Join(rel, e.Name()), e.IsDir(), prefix, fn); err != nil {
			return err
		}
	}
	return nil
}

func (b *Bucket) visit(ctx context.Context, key string, isDir bool, prefix string, fn func(string) error) error {
	if strings.HasPrefix(path.Base(key), tmpPrefix) {
		return nil
	}
	if isDir {
		sub := key + "/"
		if strings.HasPrefix(sub, prefix) || strings.HasPrefix(prefix, sub) {
			return b.walk(ctx, key, prefix, fn)
		}
		return nil
	}
	if !strings.HasPrefix(key, prefix) {
		return nil
	}
	if err := fn(key); err != nil {
		return callbackError{err}
	}
	return nil
}

func sortedEntries(entries []fs.DirEntry) []fs.DirEntry {
	sortName := func(e fs.DirEntry) string {
		if e.IsDir() {
			return e.Name() + "/"
		}
		return e.Name()
	}
	return slices.SortedFunc(slices.Values(entries), func(a, b fs.DirEntry) int {
		return cmp.Compare(sortName(a), sortName(b))
	})
}
