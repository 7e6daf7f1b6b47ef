package s3

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"strings"

	"github.com/sluicehq/sluice/tiering/bucket"
)

// Config says which bucket to use and how to reach it. Credentials are not
// here: they come from the AWS SDK's default chain (environment, shared
// files, the ECS or EC2 role).
type Config struct {
	Bucket string `yaml:"bucket"`
	// Prefix is prepended, with a slash, to every key, so that several
	// deployments can share a bucket.
	Prefix string `yaml:"prefix"`
	// Region is the bucket's region; empty uses the SDK's (AWS_REGION).
	Region string `yaml:"region"`
	// Endpoint is an S3-compatible server's base URL, such as
	// http://127.0.0.1:7070; empty means AWS.
	Endpoint string `yaml:"endpoint"`
	// PathStyle puts the bucket in the URL path rather than the host name,
	// as most S3-compatible servers need.
	PathStyle bool `yaml:"path_style"`
}

// RegisterFlags registers the fields as flags named prefix+"bucket" and so
// on. This is the only place defaults live.
func (c *Config) RegisterFlags(prefix string, f *flag.FlagSet) {
	f.StringVar(&c.Bucket, prefix+"bucket", "", "S3 bucket name.")
	f.StringVar(&c.Prefix, prefix+"prefix", "", "Key prefix inside the bucket, without slashes at either end.")
	f.StringVar(&c.Region, prefix+"region", "", "Bucket region; empty uses AWS_REGION.")
	f.StringVar(&c.Endpoint, prefix+"endpoint", "", "Base URL of an S3-compatible server; empty means AWS.")
	f.BoolVar(&c.PathStyle, prefix+"path-style", false, "Address the bucket in the URL path, as S3-compatible servers usually need.")
}

// Validate says what is wrong with c, if anything.
func (c Config) Validate() error {
	var errs []error
	if c.Bucket == "" || strings.ContainsAny(c.Bucket, "/?#") {
		errs = append(errs, fmt.Errorf("bucket name %q must be set and hold no '/', '?' or '#'", c.Bucket))
	}
	if c.Prefix != "" {
		if err := bucket.ValidateKey(c.Prefix); err != nil {
			errs = append(errs, fmt.Errorf("prefix %q: use slash-separated names without leading, trailing or double slashes", c.Prefix))
		}
	}
	if c.Endpoint != "" {
		if u, err := url.Parse(c.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("endpoint %q must be an http:// or https:// URL with a host", c.Endpoint))
		}
	}
	return errors.Join(errs...)
}
