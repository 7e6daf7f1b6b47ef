package tiering

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/integration/testenv"
	"github.com/sluicehq/sluice/tiering/bucket/s3"
)

func TestOpenBucketFile(t *testing.T) {
	dir := t.TempDir()
	b, err := OpenBucket(t.Context(), "file://"+dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Upload(t.Context(), "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if n, err := b.Size(t.Context(), "k"); err != nil || n != 1 {
		t.Fatalf("Size = %d, %v", n, err)
	}
}

func TestOpenBucketS3(t *testing.T) {
	srv := testenv.StartS3(t)
	b, err := OpenBucket(t.Context(), srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Upload(t.Context(), "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
}

func TestS3Config(t *testing.T) {
	cfg, err := s3Config(mustParse(t, "s3://bkt/a/b?region=eu-west-1&endpoint=http://127.0.0.1:9000&path_style=true"))
	want := s3.Config{Bucket: "bkt", Prefix: "a/b", Region: "eu-west-1", Endpoint: "http://127.0.0.1:9000", PathStyle: true}
	if err != nil || cfg != want {
		t.Fatalf("s3Config = %+v, %v; want %+v", cfg, err, want)
	}
}

func TestOpenBucketExplainsBadURLs(t *testing.T) {
	tests := map[string]string{
		"::":                                 "missing protocol scheme",
		"gs://bucket":                        `scheme "gs"`,
		"s3:///prefix":                       "no bucket name",
		"s3://bkt?regoin=x":                  `unknown parameter "regoin"`,
		"s3://bkt?path_style=yes":            `path_style="yes" is not true or false`,
		"s3://bkt?region=a&region=b":         "region is given 2 times",
		"s3://127.0.0.1:9000/bkt":            "not a server",
		"s3://key:secret@bkt":                "credentials do not go in the URL",
		"s3://bkt/a//b":                      "prefix",
		"s3://bkt/?endpoint=localhost:9000":  "must be an http:// or https:// URL",
		"file://data/sluice":                 `"data" was read as a host`,
		"file:relative/dir":                  "absolute path",
		"file:///var/lib/sluice?sync=always": "takes no ?parameters",
	}
	for raw, want := range tests {
		_, err := OpenBucket(t.Context(), raw)
		if !errors.Is(err, ErrBadURL) || !strings.Contains(err.Error(), want) {
			t.Errorf("OpenBucket(%q) = %v; want ErrBadURL saying %q", raw, err, want)
		}
	}
}

func TestOpenBucketRedactsSecrets(t *testing.T) {
	_, err := OpenBucket(t.Context(), "s3://key:topsecret@bkt")
	if err == nil || strings.Contains(err.Error(), "topsecret") {
		t.Fatalf("error %v repeats the secret", err)
	}
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
