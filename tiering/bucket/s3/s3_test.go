package s3

import (
	"errors"
	"hash/crc32"
	"net"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/integration/testenv"
	"github.com/sluicehq/sluice/tiering/bucket"
	"github.com/sluicehq/sluice/tiering/bucket/buckettest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func config(srv *testenv.S3) Config {
	return Config{Bucket: srv.Bucket(), Region: testenv.Region, Endpoint: srv.Endpoint(), PathStyle: true}
}

func TestAcceptance(t *testing.T) {
	srv := testenv.StartS3(t)
	b, err := New(t.Context(), config(srv))
	if err != nil {
		t.Fatal(err)
	}
	buckettest.AcceptanceTest(t, b)
}

func TestAcceptanceWithPrefix(t *testing.T) {
	srv := testenv.StartS3(t)
	cfg := config(srv)
	cfg.Prefix = "tenant/one"
	b, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	buckettest.AcceptanceTest(t, b)

	if err := b.Upload(t.Context(), "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	whole, err := New(t.Context(), config(srv))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := whole.Size(t.Context(), "tenant/one/k"); err != nil || n != 1 {
		t.Fatalf("the prefixed key is not at tenant/one/k: size %d, %v", n, err)
	}
}

func TestUploadCRCIsCheckedByTheServer(t *testing.T) {
	srv := testenv.StartS3(t)
	b, err := New(t.Context(), config(srv))
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("a flushed object")
	crc := crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli))
	if err := b.UploadCRC(t.Context(), "good", data, crc); err != nil {
		t.Fatalf("upload with its CRC-32C: %v", err)
	}
	if err := b.UploadCRC(t.Context(), "bad", data, crc+1); err == nil {
		t.Fatal("the server took a body whose CRC-32C does not match")
	}
	if _, err := b.Size(t.Context(), "bad"); !errors.Is(err, bucket.ErrNotFound) {
		t.Fatalf("the refused object exists: %v", err)
	}
}

func TestNewExplainsMissingBucket(t *testing.T) {
	srv := testenv.StartS3(t)
	cfg := config(srv)
	cfg.Bucket = "no-such-bucket"
	_, err := New(t.Context(), cfg)
	if !errors.Is(err, bucket.ErrNotFound) || !strings.Contains(err.Error(), `bucket "no-such-bucket" does not exist`) {
		t.Fatalf("New with a missing bucket: %v", err)
	}
}

func TestNewExplainsUnreachableEndpoint(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	_, err = New(t.Context(), Config{Bucket: "b", Region: "us-east-1", Endpoint: "http://" + addr, PathStyle: true})
	if err == nil || !strings.Contains(err.Error(), "cannot reach the S3 endpoint http://"+addr) {
		t.Fatalf("New with an unreachable endpoint: %v", err)
	}
}

func TestNewExplainsBadCredentials(t *testing.T) {
	srv := testenv.StartS3(t)
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret")
	_, err := New(t.Context(), config(srv))
	if err == nil || !strings.Contains(err.Error(), "denied: check the AWS credentials") {
		t.Fatalf("New with a wrong secret: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	bad := map[string]Config{
		"no bucket":       {},
		"slash in bucket": {Bucket: "a/b"},
		"prefix slashes":  {Bucket: "b", Prefix: "/p/"},
		"endpoint scheme": {Bucket: "b", Endpoint: "127.0.0.1:9000"},
	}
	for name, cfg := range bad {
		if err := cfg.Validate(); err == nil {
			t.Errorf("%s: Validate accepted %+v", name, cfg)
		}
	}
	if err := (Config{Bucket: "b", Prefix: "a/b", Endpoint: "http://h:1"}).Validate(); err != nil {
		t.Errorf("Validate refused a good config: %v", err)
	}
}
