package tiering

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/sluicehq/sluice/tiering/bucket"
	"github.com/sluicehq/sluice/tiering/bucket/buckettest"
	"github.com/sluicehq/sluice/tiering/segment"
)

func TestReaderCachesRanges(t *testing.T) {
	counting := &buckettest.Faulty{Bucket: bucket.NewInMem()}
	counting.Upload(t.Context(), "obj", []byte("0123456789"))
	r := NewReader(counting, 1<<20)
	for range 3 {
		got, err := r.Read(t.Context(), "obj", 2, 3)
		if err != nil || string(got) != "234" {
			t.Fatalf("Read = %q, %v", got, err)
		}
	}
	if n := counting.Calls(bucket.OpGetRange); n != 1 {
		t.Fatalf("%d GETs for three reads of one range, want 1", n)
	}
}

func TestKeptObjectIsReadWithoutGet(t *testing.T) {
	counting := &buckettest.Faulty{Bucket: bucket.NewInMem()}
	object := []byte("0123456789")
	counting.Upload(t.Context(), "obj", object)
	r := NewReader(counting, 1<<20)
	if !r.Keep("obj", object, nil) {
		t.Fatal("Keep refused an object that fits")
	}
	got, err := r.Read(t.Context(), "obj", 2, 3)
	if err != nil || string(got) != "234" {
		t.Fatalf("Read = %q, %v", got, err)
	}
	if n := counting.Calls(bucket.OpGetRange); n != 0 {
		t.Fatalf("%d GETs for a kept object, want 0", n)
	}

	small := NewReader(counting, 8)
	if small.Keep("obj", []byte("0123456789"), nil) {
		t.Fatal("Keep kept an object larger than the cache")
	}
	if _, err := small.Read(t.Context(), "obj", 2, 3); err != nil {
		t.Fatal(err)
	}
	if n := counting.Calls(bucket.OpGetRange); n != 1 {
		t.Fatalf("%d GETs for an object larger than the cache, want 1", n)
	}
}

func TestConcurrentReadsCauseOneGet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mem := bucket.NewInMem()
		mem.Upload(t.Context(), "obj", []byte("0123456789"))
		gated := &gatedBucket{Bucket: mem, gate: make(chan struct{})}
		counting := &buckettest.Faulty{Bucket: gated}
		r := NewReader(counting, 1<<20)
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				if got, err := r.Read(t.Context(), "obj", 4, 4); err != nil || string(got) != "4567" {
					t.Errorf("reader %d: %q, %v", i, got, err)
				}
			})
		}
		synctest.Wait() // all 20 are blocked: one in GetRange, the rest waiting for it
		close(gated.gate)
		wg.Wait()
		if n := counting.Calls(bucket.OpGetRange); n != 1 {
			t.Fatalf("%d GETs for 20 concurrent reads of one range, want 1", n)
		}
	})
}

func TestReaderErrors(t *testing.T) {
	mem := bucket.NewInMem()
	mem.Upload(t.Context(), "obj", []byte("0123456789"))
	r := NewReader(mem, 1<<20)
	if _, err := r.Read(t.Context(), "obj", 8, 4); !errors.Is(err, ErrShortRead) {
		t.Errorf("Read past the end = %v, want ErrShortRead", err)
	}
	if _, err := r.Read(t.Context(), "missing", 0, 4); !errors.Is(err, bucket.ErrNotFound) {
		t.Errorf("Read of a missing object = %v, want ErrNotFound", err)
	}
	if _, err := r.Read(t.Context(), "obj", -1, 4); !errors.Is(err, bucket.ErrInvalidRange) {
		t.Errorf("Read at -1 = %v, want ErrInvalidRange", err)
	}
}

// testObject writes an ingest object with one batch in each of n partitions.
func testObject(t *testing.T, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := segment.NewWriter(&buf, segment.KindIngest)
	batch := validBatch()
	for p := range n {
		s := segment.Section{Topic: fmt.Sprintf("topic-%03d", p%50), TopicID: [16]byte{byte(p % 50)}, Partition: int32(p)}
		if _, err := w.WriteBatch(s, batch, segment.BatchMeta{Records: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReaderFooter(t *testing.T) {
	for _, partitions := range []int{1, 2000} { // 2000 entries outgrow the first tail read
		t.Run(fmt.Sprint(partitions), func(t *testing.T) {
			counting := &buckettest.Faulty{Bucket: bucket.NewInMem()}
			obj := testObject(t, partitions)
			counting.Upload(t.Context(), "obj", obj)
			f, err := NewReader(counting, 1<<20).Footer(t.Context(), "obj")
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Sections) != partitions || f.Kind != segment.KindIngest {
				t.Fatalf("footer has %d sections of kind %s", len(f.Sections), f.Kind)
			}
			wantGets := 1
			if f.Size > footerTail {
				wantGets = 2
			}
			if n := counting.Calls(bucket.OpGetRange); n != wantGets {
				t.Fatalf("%d GETs for a %d-byte footer, want %d", n, f.Size, wantGets)
			}
		})
	}
}
