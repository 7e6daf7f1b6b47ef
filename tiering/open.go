package tiering

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/tiering/bucket"
	"github.com/sluicehq/sluice/tiering/bucket/file"
	"github.com/sluicehq/sluice/tiering/bucket/s3"
)

const urlForms = "s3://BUCKET[/PREFIX]?region=R&endpoint=URL&path_style=true or file:///ABS/DIR"

// OpenBucket opens the bucket rawURL names, wrapped with bucket.Instrument:
//
//	s3://BUCKET[/PREFIX]?region=R&endpoint=URL&path_style=true
//	file:///ABS/DIR
//
// For S3 every query parameter is optional; credentials come from the AWS
// default chain, never the URL. Errors about the URL itself wrap ErrBadURL
// and say what is wrong; S3's start-up check says what to fix on the server.
func OpenBucket(ctx context.Context, rawURL string) (bucket.Bucket, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %v; the forms are %s", ErrBadURL, err, urlForms)
	}
	var b bucket.Bucket
	switch u.Scheme {
	case "s3":
		b, err = openS3(ctx, u)
	case "file":
		b, err = openFile(u)
	default:
		return nil, fmt.Errorf("%w: scheme %q in %q is not supported; the forms are %s", ErrBadURL, u.Scheme, rawURL, urlForms)
	}
	if err != nil {
		return nil, err
	}
	return bucket.Instrument(b), nil
}

func openS3(ctx context.Context, u *url.URL) (bucket.Bucket, error) {
	cfg, err := s3Config(u)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %q: %w", ErrBadURL, u.Redacted(), err)
	}
	b, err := s3.New(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("opening s3://%s: %w", cfg.Bucket, err)
	}
	return b, nil
}

// s3Config reads an s3:// URL into an s3.Config.
func s3Config(u *url.URL) (s3.Config, error) {
	bad := func(format string, args ...any) (s3.Config, error) {
		return s3.Config{}, fmt.Errorf("%w: %q: %s", ErrBadURL, u.Redacted(), fmt.Sprintf(format, args...))
	}
	switch {
	case u.User != nil:
		return bad("credentials do not go in the URL; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or use a role")
	case u.Host == "":
		return bad("no bucket name: write s3://BUCKET[/PREFIX]")
	case u.Port() != "":
		return bad("the part after s3:// is a bucket name, not a server; put a server in ?endpoint=http://host:port")
	case u.Fragment != "":
		return bad("remove the #fragment")
	}
	cfg := s3.Config{Bucket: u.Host, Prefix: strings.TrimPrefix(u.Path, "/")}
	for name, vals := range u.Query() {
		if len(vals) != 1 {
			return bad("parameter %s is given %d times", name, len(vals))
		}
		switch v := vals[0]; name {
		case "region":
			cfg.Region = v
		case "endpoint":
			cfg.Endpoint = v
		case "path_style":
			ps, err := strconv.ParseBool(v)
			if err != nil {
				return bad("path_style=%q is not true or false", v)
			}
			cfg.PathStyle = ps
		default:
			return bad("unknown parameter %q; the parameters are region, endpoint and path_style", name)
		}
	}
	return cfg, nil
}

func openFile(u *url.URL) (bucket.Bucket, error) {
	switch {
	case u.Host != "" && u.Host != "localhost":
		return nil, fmt.Errorf("%w: %q: a file URL has three slashes and an absolute path, as in file:///var/lib/sluice (%q was read as a host)",
			ErrBadURL, u.String(), u.Host)
	case u.Opaque != "" || !filepath.IsAbs(u.Path):
		return nil, fmt.Errorf("%w: %q: the directory must be an absolute path, as in file:///var/lib/sluice", ErrBadURL, u.String())
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("%w: %q: a file URL takes no ?parameters or #fragment", ErrBadURL, u.String())
	}
	b, err := file.New(u.Path)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", u.String(), err)
	}
	return b, nil
}
