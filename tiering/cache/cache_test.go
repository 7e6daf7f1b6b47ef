package cache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
)

func loader(data string, calls *atomic.Int32) func(context.Context, Key) ([]byte, error) {
	return func(context.Context, Key) ([]byte, error) {
		calls.Add(1)
		b := []byte(data)
		return b[:len(b):len(b)], nil // the cache counts capacity
	}
}

func TestGetCaches(t *testing.T) {
	c := New(1 << 20)
	var calls atomic.Int32
	k := Key{"obj", 0, 5}
	for range 3 {
		got, err := c.Get(t.Context(), k, loader("hello", &calls))
		if err != nil || string(got) != "hello" {
			t.Fatalf("Get = %q, %v", got, err)
		}
	}
	if calls.Load() != 1 {
		t.Fatalf("%d loads for three Gets of one range, want 1", calls.Load())
	}
}

func TestEvictsLeastRecentlyUsed(t *testing.T) {
	c := New(3 * (entryOverhead + 10))
	var calls atomic.Int32
	get := func(obj string) {
		t.Helper()
		if _, err := c.Get(t.Context(), Key{obj, 0, 10}, loader("0123456789", &calls)); err != nil {
			t.Fatal(err)
		}
	}
	get("a")
	get("b")
	get("c")
	get("a") // a is now the most recent; b the least
	get("d") // evicts b
	if n, bytes := c.Stats(); n != 3 || bytes > 3*(entryOverhead+10) {
		t.Fatalf("cache holds %d entries, %d bytes", n, bytes)
	}
	calls.Store(0)
	get("a")
	get("c")
	get("d")
	if calls.Load() != 0 {
		t.Fatalf("a, c or d was evicted instead of b")
	}
	get("b")
	if calls.Load() != 1 {
		t.Fatalf("b was not evicted")
	}
}

func TestTooLargeIsServedNotKept(t *testing.T) {
	c := New(entryOverhead + 4)
	var calls atomic.Int32
	got, err := c.Get(t.Context(), Key{"o", 0, 10}, loader("0123456789", &calls))
	if err != nil || string(got) != "0123456789" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	if n, _ := c.Stats(); n != 0 {
		t.Fatalf("a range larger than the cache was kept")
	}
}

func TestErrorsAreNotCached(t *testing.T) {
	c := New(1 << 20)
	boom := errors.New("boom")
	if _, err := c.Get(t.Context(), Key{"o", 0, 1}, func(context.Context, Key) ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("Get = %v, want the load error", err)
	}
	var calls atomic.Int32
	if _, err := c.Get(t.Context(), Key{"o", 0, 1}, loader("x", &calls)); err != nil || calls.Load() != 1 {
		t.Fatalf("Get after a failed load: %v, %d loads", err, calls.Load())
	}
}

func TestConcurrentGetsShareOneLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := New(1 << 20)
		var calls atomic.Int32
		release := make(chan struct{})
		load := func(context.Context, Key) ([]byte, error) {
			calls.Add(1)
			<-release
			return []byte("shared"), nil
		}
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Go(func() {
				if got, err := c.Get(t.Context(), Key{"o", 0, 6}, load); err != nil || string(got) != "shared" {
					t.Errorf("caller %d: %q, %v", i, got, err)
				}
			})
		}
		synctest.Wait() // every caller is now waiting on the one load
		close(release)
		wg.Wait()
		if calls.Load() != 1 {
			t.Fatalf("%d loads for 10 concurrent Gets, want 1", calls.Load())
		}
	})
}

func TestCancelledCallerDoesNotFailOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := New(1 << 20)
		release := make(chan struct{})
		load := func(ctx context.Context, _ Key) ([]byte, error) {
			<-release
			return []byte("data"), ctx.Err()
		}
		ctx, cancel := context.WithCancel(t.Context())
		first := make(chan error)
		go func() {
			_, err := c.Get(ctx, Key{"o", 0, 4}, load)
			first <- err
		}()
		synctest.Wait()
		second := make(chan error)
		go func() {
			_, err := c.Get(t.Context(), Key{"o", 0, 4}, load)
			second <- err
		}()
		synctest.Wait()
		cancel()
		if err := <-first; !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled caller got %v", err)
		}
		close(release)
		if err := <-second; err != nil {
			t.Fatalf("the other caller failed with %v after the first cancelled", err)
		}
	})
}

func ExampleRanges_Get() {
	c := New(64 << 20)
	data, _ := c.Get(context.Background(), Key{Object: "ingest/x", Pos: 8, Len: 3},
		func(context.Context, Key) ([]byte, error) { return []byte("abc"), nil })
	fmt.Println(string(data))
	// Output: abc
}

// slice returns a load of any range of data, an object of len(data) bytes,
// counting its calls.
func slice(data string, calls *atomic.Int32) LoadFunc {
	return func(_ context.Context, k Key) ([]byte, error) {
		calls.Add(1)
		return []byte(data[k.Pos : k.Pos+k.Len]), nil
	}
}

func TestWideRangeServesNarrowOnes(t *testing.T) {
	c := New(1 << 20)
	var calls atomic.Int32
	load := slice("0123456789", &calls)
	if _, err := c.Get(t.Context(), Key{"o", 2, 6}, load); err != nil {
		t.Fatal(err)
	}
	for _, k := range []Key{{"o", 2, 6}, {"o", 3, 2}, {"o", 7, 1}} {
		got, err := c.Get(t.Context(), k, load)
		if want := "0123456789"[k.Pos : k.Pos+k.Len]; err != nil || string(got) != want {
			t.Fatalf("Get %s = %q, %v; want %q", k, got, err, want)
		}
	}
	if calls.Load() != 1 {
		t.Fatalf("%d loads, want 1: ranges inside a cached one were loaded again", calls.Load())
	}
	if _, err := c.Get(t.Context(), Key{"o", 7, 3}, load); err != nil || calls.Load() != 2 {
		t.Fatalf("a range reaching past the cached one: %v, %d loads; want a second load", err, calls.Load())
	}
}

func TestAcquireMergesMissesIntoOneLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := New(1 << 20)
		var calls atomic.Int32
		release := make(chan struct{})
		base := slice("abcdefghijklmnopqrstuvwxyz", &calls)
		load := func(ctx context.Context, k Key) ([]byte, error) {
			<-release
			return base(ctx, k)
		}
		whole := func(ks []Key) []Key { return []Key{{"o", 0, 26}} }
		wants := []Key{{"o", 0, 3}, {"o", 10, 5}, {"o", 20, 6}}
		loads := c.Acquire(t.Context(), wants, whole, load)
		// While it loads, a request inside the span waits for it.
		again := make(chan []byte)
		go func() {
			data, _ := c.Get(t.Context(), Key{"o", 4, 2}, load)
			again <- data
		}()
		synctest.Wait()
		close(release)
		for i, k := range wants {
			got, err := loads[i].Bytes(t.Context(), k)
			if want := "abcdefghijklmnopqrstuvwxyz"[k.Pos : k.Pos+k.Len]; err != nil || string(got) != want {
				t.Fatalf("want %s = %q, %v; want %q", k, got, err, want)
			}
		}
		if got := <-again; string(got) != "ef" {
			t.Fatalf("concurrent Get = %q, want ef", got)
		}
		if calls.Load() != 1 {
			t.Fatalf("%d loads, want 1", calls.Load())
		}
	})
}

func TestLoadOfWrongLengthFails(t *testing.T) {
	c := New(1 << 20)
	var calls atomic.Int32
	if _, err := c.Get(t.Context(), Key{"o", 0, 4}, loader("abc", &calls)); err == nil {
		t.Fatal("a load of 3 bytes for a 4-byte range succeeded")
	}
	if n, _ := c.Stats(); n != 0 {
		t.Fatal("a short load was cached")
	}
}

// TestPutRecyclesOnlyUnreadRanges: an evicted Put range goes back to its
// owner only if no read was served from it, since a reader may still hold a
// slice of one that was.
func TestPutRecyclesOnlyUnreadRanges(t *testing.T) {
	c := New(2 * (10 + entryOverhead))
	var recycled []string
	recycle := func(b []byte) { recycled = append(recycled, string(b)) }
	c.Put(Key{Object: "read", Len: 10}, []byte("0123456789"), recycle)
	c.Put(Key{Object: "unread", Len: 10}, []byte("abcdefghij"), recycle)
	if got, err := c.Get(t.Context(), Key{Object: "read", Pos: 2, Len: 3}, nil); err != nil || string(got) != "234" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	c.Put(Key{Object: "third", Len: 10}, []byte("klmnopqrst"), recycle)  // evicts "unread", the least recently used
	c.Put(Key{Object: "fourth", Len: 10}, []byte("uvwxyz0123"), recycle) // evicts "read"
	if len(recycled) != 1 || recycled[0] != "abcdefghij" {
		t.Fatalf("recycled %q, want only the range no read was served from", recycled)
	}
}

// A range counts at the capacity of its bytes, which is what it holds: a
// small object in a large buffer must not let the cache hold many times
// its bound.
func TestPutCountsCapacity(t *testing.T) {
	c := New(3 * (entryOverhead + 100))
	for _, obj := range []string{"a", "b", "c"} {
		c.Put(Key{Object: obj, Len: 10}, make([]byte, 10, 100), nil)
	}
	if n, bytes := c.Stats(); n != 3 || bytes != 3*(entryOverhead+100) {
		t.Fatalf("cache holds %d entries, %d bytes; want 3, %d", n, bytes, 3*(entryOverhead+100))
	}
	c.Put(Key{Object: "d", Len: 10}, make([]byte, 10, 100), nil)
	if n, _ := c.Stats(); n != 3 {
		t.Fatalf("cache holds %d entries past its bound, want 3", n)
	}
	if c.Put(Key{Object: "e", Len: 10}, make([]byte, 10, 1000), nil) {
		t.Fatal("Put kept 10 bytes in a buffer larger than the whole cache")
	}
}
