// Package s3 is a bucket.Bucket on Amazon S3 or any S3-compatible server
// (MinIO, versitygw), through the AWS SDK for Go v2.
//
// New checks the bucket with HeadBucket before returning, so a wrong name,
// region, endpoint or credential stops the agent at start with a message
// that says what to fix, instead of failing its first flush. Credentials come
// only from the SDK's default chain.
//
// Errors are translated at the boundary: a missing key or bucket becomes
// bucket.ErrNotFound. Ranges follow the bucket contract rather than HTTP: an
// empty range is answered without a GET (S3 would ignore it and send the
// whole object), and a range past the end (416) yields no bytes.
//
// The backend carries no metrics or tracing; wrap it with bucket.Instrument.
package s3
