package testenv

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// Fixed credentials for the test S3 gateway. They are test-only values and
// grant nothing outside the gateway a test starts.
const (
	AccessKey = "sluice-test-access"
	SecretKey = "sluice-test-secret-0123456789"
	Region    = "us-east-1"
)

// VersityGWModule is the version of the S3 gateway `make deps` builds.
const VersityGWModule = "github.com/versity/versitygw/cmd/versitygw@v1.8.0"

// Main sets the AWS environment, runs the tests, stops every server still
// running and exits with the tests' code.
func Main(m *testing.M) {
	setAWSEnv()
	code := m.Run()
	killAll()
	os.Exit(code)
}

// setAWSEnv makes the SDK's default credential chain find the gateway's keys
// whatever the developer's shell holds: a leftover session token or profile
// would otherwise be sent along and break signing.
func setAWSEnv() {
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":         AccessKey,
		"AWS_SECRET_ACCESS_KEY":     SecretKey,
		"AWS_REGION":                Region,
		"AWS_EC2_METADATA_DISABLED": "true",
	} {
		os.Setenv(k, v)
	}
	for _, k := range []string{"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"} {
		os.Unsetenv(k)
	}
}

// installHints says how to get each binary the harness knows by hand; `make
// deps` does all of it.
var installHints = map[string]string{
	"redis-server": "apt-get install redis-server",
	"redis-cli":    "apt-get install redis-tools",
	"kcat":         "apt-get install kcat",
	"versitygw":    "GOBIN=$REPO/bin go install " + VersityGWModule,
}

// Need returns the path of binary, looked up first in the repository's bin/
// (where `make deps` puts the tools it builds) and then on PATH. When it is
// missing the test is skipped, or failed when CI=true, so that CI never
// passes by skipping.
func Need(t testing.TB, binary string) string {
	t.Helper()
	if root, err := repoRoot(); err == nil {
		p := filepath.Join(root, "bin", binary)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	if p, err := exec.LookPath(binary); err == nil {
		return p
	}
	msg := binary + " not found in the repository's bin/ or on PATH; run `make deps`"
	if hint, ok := installHints[binary]; ok {
		msg += " (or by hand: " + hint + ")"
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s [CI=true: a missing dependency fails the run]", msg)
	}
	t.Skipf("%s [skipped; under CI=true this fails]", msg)
	return ""
}

// skipIfShort keeps `go test -short` (make test-unit) to tests that start no
// server, as raft and Loki tier theirs.
func skipIfShort(t testing.TB, server string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("-short: skipping a test that needs a real %s", server)
	}
}

var repoRootOnce = sync.OnceValues(findRepoRoot)

func repoRoot() (string, error) { return repoRootOnce() }

// findRepoRoot walks up from the working directory, which go test sets to
// the package under test, to the directory holding go.mod.
func findRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
