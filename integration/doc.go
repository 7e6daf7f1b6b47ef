// Package integration holds Sluice's end-to-end tests: real Kafka clients
// (franz-go, kcat) over TCP against `sluice` agent processes backed by a
// real redis-server and a real S3 server (versitygw), each started by the
// tests as a separate process on a free loopback port.
//
// Agents run as processes of the binary built from cmd/sluice, so that a
// test can kill one with SIGKILL or drain it with SIGTERM exactly as an
// operator or an autoscaler would. Figures such as PUTs per flush are read
// from the agents' own Prometheus endpoint.
//
// Under CI=true a missing redis-server, versitygw or kcat fails the run; on
// a workstation the tests that need it are skipped with a message saying
// how to get it (make deps).
package integration
