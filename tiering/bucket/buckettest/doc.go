// Package buckettest holds what tests of bucket.Bucket users and backends
// share: AcceptanceTest, the behavioural contract every backend must pass
// (memory, file and the real S3 gateway alike), and Faulty, a wrapper that
// injects errors and counts calls, such as the PUTs of a flush.
package buckettest
