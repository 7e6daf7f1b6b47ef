package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// BucketName is the bucket StartS3 creates.
const BucketName = "sluice-test"

// S3 is a versitygw child process serving the posix backend from a temporary
// directory, with one bucket, owned by one test.
type S3 struct {
	t    testing.TB
	bin  string
	port int
	dir  string
	out  *output

	mu   sync.Mutex
	proc *proc
}

// StartS3 starts a dedicated S3 gateway on a free 127.0.0.1 port, creates
// BucketName through the S3 API and returns. t.Cleanup stops it. It also sets
// the AWS environment (as Main does) so the default credential chain signs
// for the gateway.
func StartS3(t testing.TB) *S3 {
	t.Helper()
	skipIfShort(t, "versitygw")
	s := &S3{t: t, bin: Need(t, "versitygw"), dir: t.TempDir(), out: &output{}}
	setAWSEnv()
	logOnFailure(t, "versitygw", s.out)
	t.Cleanup(s.Stop)
	var err error
	for range 3 {
		if s.port, err = freePort(); err != nil {
			break
		}
		if err = s.start(); !errors.Is(err, errExited) {
			break
		}
	}
	if err != nil {
		t.Fatalf("starting versitygw: %v", err)
	}
	if err := s.createBucket(); err != nil {
		t.Fatalf("creating bucket %s on versitygw: %v", BucketName, err)
	}
	return s
}

func (s *S3) start() error {
	args := []string{
		"--access", AccessKey,
		"--secret", SecretKey,
		"--region", Region,
		"--port", s.Endpoint()[len("http://"):],
		// Without it every request is a line of output.
		"--quiet",
		"posix", s.dir,
	}
	s.out.mark("versitygw %s", strings.Join(args, " "))
	p, err := startProc("versitygw", s.out, s.bin, args...)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	if err := p.waitReady("answer HTTP on "+s.Endpoint(), s.probe); err != nil {
		p.kill()
		return err
	}
	return nil
}

// probe succeeds on any HTTP answer: an unsigned request is refused with
// 403, which proves the gateway serves.
func (s *S3) probe(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.Endpoint()+"/", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// createBucket goes through the API rather than a mkdir in the backend
// directory, so the gateway records the bucket's owner and ACL as it does
// for any client.
func (s *S3) createBucket() error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	_, err := s.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(BucketName)})
	return err
}

// Client returns an S3 client for the gateway, for tests that look at the
// bucket directly.
func (s *S3) Client() *s3.Client {
	return s3.New(s3.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.Endpoint()),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
		Retryer:      aws.NopRetryer{},
	})
}

// Endpoint is the gateway's http://host:port.
func (s *S3) Endpoint() string {
	return "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
}

// Bucket is the name of the bucket StartS3 created.
func (s *S3) Bucket() string { return BucketName }

// URL is the bucket URL Sluice is configured with.
func (s *S3) URL() string {
	return fmt.Sprintf("s3://%s?region=%s&endpoint=%s&path_style=true", BucketName, Region, s.Endpoint())
}

// Dir is the bucket's directory on disk: the object with key a/b is the file
// Dir()/a/b.
func (s *S3) Dir() string { return filepath.Join(s.dir, BucketName) }

// Stop shuts the gateway down with SIGTERM and waits for it to exit.
func (s *S3) Stop() {
	s.mu.Lock()
	p := s.proc
	s.mu.Unlock()
	if p == nil {
		return
	}
	if err := p.stop(); err != nil {
		s.t.Errorf("stopping versitygw: %v", err)
	}
}

// Kill ends the gateway with SIGKILL and waits for it.
func (s *S3) Kill() {
	s.mu.Lock()
	p := s.proc
	s.mu.Unlock()
	if p != nil {
		p.kill()
	}
}

// Restart stops the gateway if it still runs and starts it again on the same
// port and data, so a test can take S3 away and give it back.
func (s *S3) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	s.out.mark("restart")
	if err := s.start(); err != nil {
		t.Fatalf("restarting versitygw on %s: %v", s.Endpoint(), err)
	}
}
