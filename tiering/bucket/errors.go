package bucket

import "errors"

var (
	// ErrNotFound is returned when the key (or the bucket itself) does not
	// exist. Backends translate their own not-found errors into it.
	ErrNotFound = errors.New("object not found")

	// ErrInvalidKey is returned by every Bucket method for a key that
	// ValidateKey refuses, before anything is sent to the store.
	ErrInvalidKey = errors.New("invalid object key")

	// ErrInvalidRange is returned by GetRange for a negative offset.
	ErrInvalidRange = errors.New("invalid byte range")
)
