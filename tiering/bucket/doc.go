// Package bucket owns the object-store contract Sluice is built on: Bucket,
// its sentinels, key rules, an in-memory implementation, the metrics and
// tracing decorator, and Hedger, which races a second upload against a
// straggling one.
//
// Every semantic of a backend is in the Bucket doc comments and checked by
// buckettest.AcceptanceTest, which runs against every backend: InMem here,
// the local directory in bucket/file and S3 in bucket/s3. Backends translate
// their own errors at the boundary (a 404 becomes ErrNotFound) and carry no
// instrumentation; Instrument adds it as a decorator:
//
//	b, err := s3.New(ctx, cfg)
//	...
//	b = bucket.Instrument(b)
//
// The produce path relies on two properties: a successful Upload is durable
// and immediately readable by every agent, and a failed one never leaves a
// partial object. Keys are never reused (see tiering.NewIngestKey), so a
// retried Upload can only ever rewrite the same bytes. A backend that can
// check a body against a CRC-32C the caller already has (S3) is also a
// CRCUploader, found by type assertion; UploadCRC uses it when it is there.
package bucket
