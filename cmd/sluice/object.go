package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/sluicehq/sluice/tiering"
	"github.com/sluicehq/sluice/tiering/segment"
)

const objectUsage = `usage:
  sluice object ls <bucket-url> [prefix]
  sluice object inspect <bucket-url> <key>
`

// runObject lists objects, or prints one object's header and index and
// verifies its checksums.
func runObject(ctx context.Context, args []string) error {
	if len(args) < 2 {
		return errors.New("missing arguments\n" + objectUsage)
	}
	b, err := tiering.OpenBucket(ctx, args[1])
	if err != nil {
		return fmt.Errorf("opening bucket: %w", err)
	}
	switch args[0] {
	case "ls":
		prefix := ""
		if len(args) > 2 {
			prefix = args[2]
		}
		return b.Iter(ctx, prefix, func(key string) error {
			_, err := fmt.Println(key)
			return err
		})
	case "inspect":
		if len(args) != 3 {
			return errors.New("inspect needs a bucket URL and a key\n" + objectUsage)
		}
		rc, err := b.GetRange(ctx, args[2], 0, -1)
		if err != nil {
			return fmt.Errorf("reading %s: %w", args[2], err)
		}
		defer rc.Close()
		data, err := io.ReadAll(rc)
		if err != nil {
			return fmt.Errorf("reading %s: %w", args[2], err)
		}
		f, err := segment.Verify(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return fmt.Errorf("verifying %s: %w", args[2], err)
		}
		fmt.Printf("object %s: %d bytes, checksums verified\n", args[2], len(data))
		return segment.Dump(os.Stdout, f)
	default:
		return fmt.Errorf("unknown object command %q\n%s", args[0], objectUsage)
	}
}
