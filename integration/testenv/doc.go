// Package testenv starts the real servers that Sluice's integration and
// acceptance tests run against: a redis-server and an S3 gateway
// (versitygw on its posix backend), each a dedicated child process on a free
// 127.0.0.1 port with its own temporary data directory.
//
// A test package that uses it calls Main from its TestMain:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		rd := testenv.StartRedis(t, testenv.WithAOF())
//		s3 := testenv.StartS3(t)
//		a := startAgent(t, rd.URL(), s3.URL())
//		...
//	}
//
// Invariants:
//   - No child outlives its test. Each server is stopped by t.Cleanup; Main
//     kills whatever is left once the tests return; and on Linux the kernel
//     kills a child whose test binary dies (a -timeout panic, ^C), because
//     cleanups do not run then.
//   - Each child runs in its own process group, so a signal reaches the
//     server and anything it forked (redis' AOF rewrite), and the terminal's
//     ^C goes to the test binary only.
//   - A child's output is kept (its tail, across restarts) and printed with
//     t.Log only when the test fails.
//   - Every wait has a deadline and fails with a message that names the
//     server and what it was waiting for.
//   - A missing binary skips the test on a developer's machine but fails it
//     when CI=true, so CI can never go green by skipping. `make deps`
//     installs everything.
//   - With -short (make test-unit), StartRedis and StartS3 skip the test.
//
// The AWS SDK's default credential chain in the code under test finds the
// fixed AccessKey and SecretKey, which Main (and StartS3) put in the process
// environment, together with AWS_REGION=us-east-1.
//
// To bring Redis back on older data (a restore from a stale snapshot), stop
// it, keep a copy of Dir made earlier with os.CopyFS, and call
// Restart(t, WithDir(copy)): clients keep the same address.
package testenv
