package buckettest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/tiering/bucket"
)

// AcceptanceTest checks that b keeps every promise of the bucket.Bucket
// contract. b must be empty; the test deletes what it wrote. Every backend
// runs it, the real S3 gateway included.
func AcceptanceTest(t *testing.T, b bucket.Bucket) {
	t.Helper()
	if keys := list(t, b, ""); len(keys) != 0 {
		t.Fatalf("bucket is not empty: %d keys, first %q", len(keys), keys[0])
	}
	t.Cleanup(func() { deleteAll(t, b) })
	t.Run("NotFound", func(t *testing.T) { testNotFound(t, b) })
	t.Run("ReadAfterWrite", func(t *testing.T) { testReadAfterWrite(t, b) })
	t.Run("Ranges", func(t *testing.T) { testRanges(t, b) })
	t.Run("EmptyObject", func(t *testing.T) { testEmptyObject(t, b) })
	t.Run("Overwrite", func(t *testing.T) { testOverwrite(t, b) })
	t.Run("CallerKeepsData", func(t *testing.T) { testCallerKeepsData(t, b) })
	t.Run("Iter", func(t *testing.T) { testIter(t, b) })
	t.Run("IterStops", func(t *testing.T) { testIterStops(t, b) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, b) })
	t.Run("InvalidKeys", func(t *testing.T) { testInvalidKeys(t, b) })
	t.Run("Cancelled", func(t *testing.T) { testCancelled(t, b) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, b) })
}

func testNotFound(t *testing.T, b bucket.Bucket) {
	ctx := t.Context()
	if _, err := b.Size(ctx, "missing/object"); !errors.Is(err, bucket.ErrNotFound) {
		t.Errorf("Size of a missing key: %v, want ErrNotFound", err)
	}
	for _, r := range [][2]int64{{0, -1}, {0, 0}, {5, 10}} {
		if rc, err := b.GetRange(ctx, "missing/object", r[0], r[1]); !errors.Is(err, bucket.ErrNotFound) {
			closeIf(rc)
			t.Errorf("GetRange(%d, %d) of a missing key: %v, want ErrNotFound", r[0], r[1], err)
		}
	}
}

func testReadAfterWrite(t *testing.T, b bucket.Bucket) {
	data := allBytes()
	upload(t, b, "raw/all-bytes", data)
	if got := read(t, b, "raw/all-bytes", 0, -1); !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes that differ from the %d uploaded", len(got), len(data))
	}
	if n, err := b.Size(t.Context(), "raw/all-bytes"); err != nil || n != int64(len(data)) {
		t.Fatalf("Size = %d, %v; want %d", n, err, len(data))
	}
}

func testRanges(t *testing.T, b bucket.Bucket) {
	data := []byte("0123456789abcdef")
	upload(t, b, "ranges/obj", data)
	tests := map[string]struct {
		off, length int64
		want        string
	}{
		"whole":               {0, -1, "0123456789abcdef"},
		"from the middle":     {10, -1, "abcdef"},
		"inside":              {3, 4, "3456"},
		"to the exact end":    {12, 4, "cdef"},
		"past the end":        {12, 100, "cdef"},
		"zero length":         {3, 0, ""},
		"starting at the end": {16, 4, ""},
		"starting past end":   {20, -1, ""},
		"last byte":           {15, 1, "f"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got := read(t, b, "ranges/obj", tt.off, tt.length); string(got) != tt.want {
				t.Fatalf("GetRange(%d, %d) = %q, want %q", tt.off, tt.length, got, tt.want)
			}
		})
	}
	rc, err := b.GetRange(t.Context(), "ranges/obj", -1, 4)
	if !errors.Is(err, bucket.ErrInvalidRange) {
		closeIf(rc)
		t.Fatalf("GetRange(-1, 4) = %v, want ErrInvalidRange", err)
	}
}

func testEmptyObject(t *testing.T, b bucket.Bucket) {
	upload(t, b, "empty/obj", nil)
	if n, err := b.Size(t.Context(), "empty/obj"); err != nil || n != 0 {
		t.Fatalf("Size of an empty object = %d, %v", n, err)
	}
	for _, r := range [][2]int64{{0, -1}, {0, 10}, {3, -1}} {
		if got := read(t, b, "empty/obj", r[0], r[1]); len(got) != 0 {
			t.Fatalf("GetRange(%d, %d) of an empty object = %q", r[0], r[1], got)
		}
	}
}

func testOverwrite(t *testing.T, b bucket.Bucket) {
	upload(t, b, "overwrite/obj", []byte("first version, longer"))
	upload(t, b, "overwrite/obj", []byte("second"))
	if got := read(t, b, "overwrite/obj", 0, -1); string(got) != "second" {
		t.Fatalf("after overwrite read %q", got)
	}
	if n, _ := b.Size(t.Context(), "overwrite/obj"); n != 6 {
		t.Fatalf("after overwrite Size = %d, want 6", n)
	}
}

func testCallerKeepsData(t *testing.T, b bucket.Bucket) {
	data := []byte("original")
	upload(t, b, "reuse/obj", data)
	copy(data, "CHANGED!")
	if got := read(t, b, "reuse/obj", 0, -1); string(got) != "original" {
		t.Fatalf("changing the caller's slice after Upload changed the object to %q", got)
	}
}

func testIter(t *testing.T, b bucket.Bucket) {
	// "a.b" sorts before "a/b" ('.' < '/'): a backend that walks directories
	// depth-first gets this wrong.
	keys := []string{"iter/z", "iter/a/b", "iter/a.b", "iter/a/c/d", "iter/b", "iter/a-", "iter/ab"}
	for _, k := range keys {
		upload(t, b, k, []byte(k))
	}
	sorted := slices.Sorted(slices.Values(keys))
	tests := map[string][]string{
		"iter/":     sorted,
		"iter/a":    {"iter/a-", "iter/a.b", "iter/a/b", "iter/a/c/d", "iter/ab"},
		"iter/a/":   {"iter/a/b", "iter/a/c/d"},
		"iter/a/c":  {"iter/a/c/d"},
		"iter/zz":   nil,
		"iter/nope": nil,
		"nothing/":  nil,
	}
	for prefix, want := range tests {
		if got := list(t, b, prefix); !slices.Equal(got, want) {
			t.Errorf("Iter(%q) = %q, want %q", prefix, got, want)
		}
	}
	if all := list(t, b, ""); !isSorted(all) || !containsAll(all, keys) {
		t.Errorf("Iter(\"\") = %q: not sorted or missing keys", all)
	}
}

func testIterStops(t *testing.T, b bucket.Bucket) {
	for _, k := range []string{"stop/1", "stop/2", "stop/3"} {
		upload(t, b, k, nil)
	}
	stop := errors.New("stop here")
	calls := 0
	err := b.Iter(t.Context(), "stop/", func(string) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("Iter returned %v after %d calls, want the callback's error after 1", err, calls)
	}
}

func testDelete(t *testing.T, b bucket.Bucket) {
	ctx := t.Context()
	upload(t, b, "delete/obj", []byte("x"))
	upload(t, b, "delete/objkeep", []byte("y"))
	if err := b.Delete(ctx, "delete/obj"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := b.Size(ctx, "delete/obj"); !errors.Is(err, bucket.ErrNotFound) {
		t.Fatalf("Size after Delete: %v, want ErrNotFound", err)
	}
	if got := list(t, b, "delete/"); !slices.Equal(got, []string{"delete/objkeep"}) {
		t.Fatalf("Iter after Delete = %q", got)
	}
	if err := b.Delete(ctx, "delete/obj"); err != nil {
		t.Fatalf("deleting a missing key: %v, want nil", err)
	}
	if err := b.Delete(ctx, "delete/never/existed"); err != nil {
		t.Fatalf("deleting a never-written key: %v, want nil", err)
	}
}

func testInvalidKeys(t *testing.T, b bucket.Bucket) {
	ctx := t.Context()
	for _, key := range []string{"", "/lead", "trail/", "a//b", "a/../b", "./a", "a/.", string(make([]byte, 1025))} {
		if err := b.Upload(ctx, key, nil); !errors.Is(err, bucket.ErrInvalidKey) {
			t.Errorf("Upload(%.20q) = %v, want ErrInvalidKey", key, err)
		}
		if _, err := b.Size(ctx, key); !errors.Is(err, bucket.ErrInvalidKey) {
			t.Errorf("Size(%.20q) = %v, want ErrInvalidKey", key, err)
		}
		if rc, err := b.GetRange(ctx, key, 0, -1); !errors.Is(err, bucket.ErrInvalidKey) {
			closeIf(rc)
			t.Errorf("GetRange(%.20q) = %v, want ErrInvalidKey", key, err)
		}
		if err := b.Delete(ctx, key); !errors.Is(err, bucket.ErrInvalidKey) {
			t.Errorf("Delete(%.20q) = %v, want ErrInvalidKey", key, err)
		}
	}
}

func testCancelled(t *testing.T, b bucket.Bucket) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := b.Upload(ctx, "cancelled/obj", []byte("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Upload with a cancelled context = %v, want context.Canceled", err)
	}
	if _, err := b.Size(t.Context(), "cancelled/obj"); !errors.Is(err, bucket.ErrNotFound) {
		t.Fatalf("a cancelled Upload stored the object: Size = %v", err)
	}
}

func testConcurrent(t *testing.T, b bucket.Bucket) {
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			key := fmt.Sprintf("concurrent/%d", i)
			data := bytes.Repeat([]byte{byte(i)}, 1000+i)
			if err := b.Upload(t.Context(), key, data); err != nil {
				t.Errorf("Upload %s: %v", key, err)
				return
			}
			if got := read(t, b, key, 0, -1); !bytes.Equal(got, data) {
				t.Errorf("%s read back wrong bytes", key)
			}
		})
	}
	wg.Wait()
	if got := list(t, b, "concurrent/"); len(got) != 8 {
		t.Fatalf("Iter found %d of 8 concurrent uploads", len(got))
	}
}

func upload(t testing.TB, b bucket.Bucket, key string, data []byte) {
	t.Helper()
	if err := b.Upload(t.Context(), key, data); err != nil {
		t.Fatalf("Upload %s: %v", key, err)
	}
}

func read(t testing.TB, b bucket.Bucket, key string, off, length int64) []byte {
	t.Helper()
	rc, err := b.GetRange(t.Context(), key, off, length)
	if err != nil {
		t.Fatalf("GetRange(%s, %d, %d): %v", key, off, length, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading %s: %v", key, err)
	}
	return data
}

func list(t testing.TB, b bucket.Bucket, prefix string) []string {
	t.Helper()
	var keys []string
	if err := b.Iter(t.Context(), prefix, func(k string) error {
		keys = append(keys, k)
		return nil
	}); err != nil {
		t.Fatalf("Iter(%q): %v", prefix, err)
	}
	return keys
}

// deleteAll runs in a cleanup, after t.Context is cancelled.
func deleteAll(t testing.TB, b bucket.Bucket) {
	ctx := context.Background()
	var keys []string
	err := b.Iter(ctx, "", func(k string) error {
		keys = append(keys, k)
		return nil
	})
	if err != nil {
		t.Errorf("listing keys to clean up: %v", err)
	}
	for _, k := range keys {
		if err := b.Delete(ctx, k); err != nil {
			t.Errorf("cleaning up %s: %v", k, err)
		}
	}
}

func allBytes() []byte {
	b := make([]byte, 3*256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func closeIf(rc io.ReadCloser) {
	if rc != nil {
		rc.Close()
	}
}

func isSorted(keys []string) bool { return slices.IsSorted(keys) }

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}
