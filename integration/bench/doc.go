// Package bench measures Sluice against the physical limit and a reference
// broker, for `sluice bench` and `make bench`.
//
// One run has three parts, all on the same machine:
//
//   - The S3 ceiling: whole-object PUTs of the flush size (--flush-bytes) with
//     as many workers as the agent uploads at once (--flush-uploads), then
//     GETs of those objects with as many workers as there are consumers, all
//     with aws-sdk-go-v2 configured as the agent's bucket/s3 is.
//   - The load against a Sluice agent: franz-go producers (uncompressed,
//     random values stamped with the produce time) for --duration as fast as
//     the agent takes them (or at --rate), then for half as long at half the
//     records per second achieved; consumers read at the tail meanwhile,
//     which gives end-to-end latency; they then idle at the tail for a few
//     seconds (the cost of a long-polling Fetch); last, fresh consumers
//     replay the topic from the start, through a freshly started agent when
//     the bench owns it, so the fetch cache is cold.
//   - The same load against kfake, franz-go's in-memory broker, started in
//     this process with one broker.
//
// Cost figures come from the agent and Redis themselves, read at each phase
// boundary: S3 operations from the agent's /metrics
// (sluice_bucket_operations_total), flushes and Fetch requests from its
// counters, Redis commands from INFO commandstats (which also counts the
// commands a Lua script runs; script calls are shown apart), and CPU time
// and peak RSS from /proc of the agent process.
//
// The bench starts what Config does not name (redis-server with
// appendfsync always, versitygw, `sluice agent`) as child processes on free
// loopback ports, each in its own process group with a parent-death signal
// on Linux, and stops them before Run returns, also on cancellation.
//
// Throughput counts record value bytes answered (produce) or delivered
// (consume) within a phase, in MB (10^6 bytes) per second. Latency
// quantiles come from histograms with 1% buckets over every record.
// Nothing here asserts a figure: the targets are reported, never enforced.
package bench
