// Package file is a bucket.Bucket on a local directory, for `sluice dev`,
// single-machine deployments and tests.
//
// A key maps to a file at the same relative path; its slashes become
// subdirectories. Upload writes a temporary file (named ".tmp-*", a prefix
// keys may not use) beside the target, fsyncs it, renames it into place and
// fsyncs the directory, so a crash leaves the old object or the whole new
// one, never a partial file. Directories it creates are fsynced into their
// parents too.
//
// Unlike S3, a key cannot be both an object and a directory of other keys:
// uploading "a" when "a/b" exists fails. Sluice's keys never do that. Iter
// walks the tree in lexical key order without collecting it first.
package file
