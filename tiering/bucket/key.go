package bucket

import (
	"fmt"
	"strings"
)

// MaxKeyLen is S3's limit on key length in bytes.
const MaxKeyLen = 1024

// ValidateKey returns ErrInvalidKey unless key is a non-empty slash-separated
// path whose every element is a name: no leading or trailing slash, no empty
// element, no "." or "..", no NUL byte. The rules are those every backend can
// honour the same way; a file-system bucket maps keys to paths, and these
// keep a key from escaping its root or naming a directory.
func ValidateKey(key string) error {
	if key == "" || len(key) > MaxKeyLen || strings.ContainsRune(key, 0) {
		return fmt.Errorf("%w: %q must be 1 to %d bytes without NUL", ErrInvalidKey, key, MaxKeyLen)
	}
	for elem := range strings.SplitSeq(key, "/") {
		if elem == "" || elem == "." || elem == ".." {
			return fmt.Errorf("%w: %q has an empty, \".\" or \"..\" path element", ErrInvalidKey, key)
		}
	}
	return nil
}

// CheckRange returns ErrInvalidRange for a negative offset. Backends call it
// so that every one refuses the same ranges.
func CheckRange(off int64) error {
	if off < 0 {
		return fmt.Errorf("%w: offset %d", ErrInvalidRange, off)
	}
	return nil
}
