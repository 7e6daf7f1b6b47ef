package file

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sluicehq/sluice/tiering/bucket"
	"github.com/sluicehq/sluice/tiering/bucket/buckettest"
)

func TestAcceptance(t *testing.T) {
	b, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	buckettest.AcceptanceTest(t, b)
}

func TestUploadLeavesNoTempFiles(t *testing.T) {
	b, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := b.Upload(t.Context(), "ingest/day/obj", []byte("data")); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(filepath.Join(b.Dir(), "ingest", "day"))
	if err != nil || len(entries) != 1 || entries[0].Name() != "obj" {
		t.Fatalf("directory holds %v (%v), want only obj", entries, err)
	}
}

func TestIterSkipsTempFiles(t *testing.T) {
	b, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Upload(t.Context(), "x/obj", nil); err != nil {
		t.Fatal(err)
	}
	// What a crash in the middle of an Upload leaves behind.
	if err := os.WriteFile(filepath.Join(b.Dir(), "x", tmpPrefix+"123"), []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	var keys []string
	b.Iter(t.Context(), "", func(k string) error { keys = append(keys, k); return nil })
	if !slices.Equal(keys, []string{"x/obj"}) {
		t.Fatalf("Iter = %q, want only x/obj", keys)
	}
	if err := b.Upload(t.Context(), "x/"+tmpPrefix+"1", nil); !errors.Is(err, bucket.ErrInvalidKey) {
		t.Fatalf("Upload of a reserved name = %v, want ErrInvalidKey", err)
	}
}

func TestDirectoryIsNotAnObject(t *testing.T) {
	b, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Upload(t.Context(), "a/b", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Size(t.Context(), "a"); !errors.Is(err, bucket.ErrNotFound) {
		t.Fatalf("Size of a directory = %v, want ErrNotFound", err)
	}
	if _, err := b.GetRange(t.Context(), "a", 0, -1); !errors.Is(err, bucket.ErrNotFound) {
		t.Fatalf("GetRange of a directory = %v, want ErrNotFound", err)
	}
	if _, err := b.Size(t.Context(), "a/b/c"); !errors.Is(err, bucket.ErrNotFound) {
		t.Fatalf("Size below a file = %v, want ErrNotFound", err)
	}
	if err := b.Delete(t.Context(), "a"); err != nil {
		t.Fatalf("Delete of a directory = %v, want nil", err)
	}
}
