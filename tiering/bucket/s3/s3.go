package s3

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"

	"github.com/sluicehq/sluice/tiering/bucket"
)

// Bucket is a bucket.Bucket on Amazon S3 or an S3-compatible server.
type Bucket struct {
	client *awss3.Client
	cfg    Config
	prefix string // cfg.Prefix + "/", or ""
}

var (
	_ bucket.Bucket      = (*Bucket)(nil)
	_ bucket.CRCUploader = (*Bucket)(nil)
)

// New connects to the bucket cfg names and checks with HeadBucket that it
// exists and the credentials may use it. Its errors say what to fix.
func New(ctx context.Context, cfg Config) (*Bucket, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("configuring S3: %w", err)
	}
	opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithHTTPClient(NewHTTPClient())}
	if cfg.Region != "" {
		opts = append(opts, awsconfig.WithRegion(cfg.Region))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("loading AWS configuration: %w", err)
	}
	if awsCfg.Region == "" {
		return nil, fmt.Errorf("no region for S3 bucket %s: add ?region= to the bucket URL or set AWS_REGION", cfg.Bucket)
	}
	cfg.Region = awsCfg.Region
	b := &Bucket{cfg: cfg, client: awss3.NewFromConfig(awsCfg, func(o *awss3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.UsePathStyle = cfg.PathStyle
		// Ranged GETs never carry a whole-object checksum; the SDK would
		// log that on every read. Segments carry their own CRCs.
		o.DisableLogOutputChecksumValidationSkipped = true
		// Signing a SHA-256 of every body was 39% of an agent's CPU under
		// produce load. The body is still checked end to end: the SDK
		// sends a CRC32 checksum the server verifies.
		o.APIOptions = append(o.APIOptions, v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware,
			markPayloadUnsigned)
	})}
	if cfg.Prefix != "" {
		b.prefix = cfg.Prefix + "/"
	}
	if _, err := awsCfg.Credentials.Retrieve(ctx); err != nil {
		return nil, fmt.Errorf("finding AWS credentials for bucket %s: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "+
			"AWS_PROFILE, or run with an instance or task role: %w", cfg.Bucket, err)
	}
	if err := b.checkBucket(ctx); err != nil {
		return nil, err
	}
	return b, nil
}

// idleConns is how many connections to the endpoint are kept open between
// requests. A fetch reads its ranges in parallel, and uploads overlap: with
// the SDK's 10, a replay opened and closed a connection for many of its
// GETs (a TLS handshake each on S3), 9% of the agent's CPU in the bench.
const idleConns = 128

// NewHTTPClient is the SDK's HTTP client as the bucket configures it, for
// other S3 clients that should behave as the agent's.
func NewHTTPClient() aws.HTTPClient {
	return awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns, t.MaxIdleConnsPerHost = idleConns, idleConns
	})
}

// unsignedPayload is the payload hash SigV4 signs for an unsigned body.
const unsignedPayload = "UNSIGNED-PAYLOAD"

// markPayloadUnsigned says the body is unsigned before the SDK's checksum
// middleware runs. Over plain HTTP that middleware otherwise hashes every
// PUT body with SHA-256 beside its CRC32, for a signature the swapped-in
// unsigned-payload middleware then never uses: 27% of an agent's CPU under
// produce load in the bench.
func markPayloadUnsigned(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("MarkPayloadUnsigned",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
			middleware.InitializeOutput, middleware.Metadata, error,
		) {
			return next.HandleInitialize(v4.SetPayloadHash(ctx, unsignedPayload), in)
		}), middleware.After)
}

// checkBucket makes one attempt, without retries, so a wrong endpoint fails
// at start in a second rather than after the SDK's backoff.
func (b *Bucket) checkBucket(ctx context.Context) error {
	_, err := b.client.HeadBucket(ctx, &awss3.HeadBucketInput{Bucket: &b.cfg.Bucket},
		func(o *awss3.Options) { o.RetryMaxAttempts = 1 })
	if err != nil {
		return explainHeadBucket(b.cfg, err)
	}
	return nil
}

func (b *Bucket) key(key string) string { return b.prefix + key }

// Upload implements bucket.Bucket. S3 replaces objects atomically, so a
// failed PUT leaves the old object or none. The SDK computes a CRC32 of
// data, which the server checks.
func (b *Bucket) Upload(ctx context.Context, key string, data []byte) error {
	return b.put(ctx, key, data, nil)
}

// UploadCRC implements bucket.CRCUploader: the server checks crc instead of
// a CRC32 the SDK would compute, which was 5% of an agent's CPU under
// produce load.
func (b *Bucket) UploadCRC(ctx context.Context, key string, data []byte, crc uint32) error {
	sum := base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, crc))
	return b.put(ctx, key, data, &sum)
}

func (b *Bucket) put(ctx context.Context, key string, data []byte, crc32c *string) error {
	if err := check(ctx, key); err != nil {
		return fmt.Errorf("uploading %s: %w", key, err)
	}
	_, err := b.client.PutObject(ctx, &awss3.PutObjectInput{
		Bucket:         &b.cfg.Bucket,
		Key:            aws.String(b.key(key)),
		Body:           bytes.NewReader(data),
		ContentLength:  aws.Int64(int64(len(data))),
		ChecksumCRC32C: crc32c,
	})
	if err != nil {
		return fmt.Errorf("uploading %s: %w", key, b.translate(err))
	}
	return nil
}

// GetRange implements bucket.Bucket.
func (b *Bucket) GetRange(ctx context.Context, key string, off, length int64) (io.ReadCloser, error) {
	if err := check(ctx, key); err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	if err := bucket.CheckRange(off); err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	if length == 0 {
		// S3 has no empty range; it would ignore one and send the whole
		// object. Check that the key exists instead.
		if _, err := b.Size(ctx, key); err != nil {
			return nil, err
		}
		return io.NopCloser(strings.NewReader("")), nil
	}
	out, err := b.client.GetObject(ctx, &awss3.GetObjectInput{
		Bucket: &b.cfg.Bucket,
		Key:    aws.String(b.key(key)),
		Range:  httpRange(off, length),
	})
	if isInvalidRange(err) {
		return io.NopCloser(strings.NewReader("")), nil // the range starts at or past the end
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, b.translate(err))
	}
	return out.Body, nil
}

// httpRange is the Range header for off and length (> 0, or < 0 for the rest).
func httpRange(off, length int64) *string {
	switch {
	case off == 0 && length < 0:
		return nil
	case length < 0:
		return aws.String(fmt.Sprintf("bytes=%d-", off))
	}
	return aws.String(fmt.Sprintf("bytes=%d-%d", off, off+length-1))
}

// Size implements bucket.Bucket.
func (b *Bucket) Size(ctx context.Context, key string) (int64, error) {
	if err := check(ctx, key); err != nil {
		return 0, fmt.Errorf("sizing %s: %w", key, err)
	}
	out, err := b.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: &b.cfg.Bucket, Key: aws.String(b.key(key))})
	if err != nil {
		return 0, fmt.Errorf("sizing %s: %w", key, b.translate(err))
	}
	return aws.ToInt64(out.ContentLength), nil
}

// Iter implements bucket.Bucket. S3 lists keys in UTF-8 byte order, which
// is the lexical order the contract promises.
func (b *Bucket) Iter(ctx context.Context, prefix string, fn func(key string) error) error {
	pages := awss3.NewListObjectsV2Paginator(b.client, &awss3.ListObjectsV2Input{
		Bucket: &b.cfg.Bucket,
		Prefix: aws.String(b.key(prefix)),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("listing %q: %w", prefix, b.translate(err))
		}
		for _, obj := range page.Contents {
			if err := fn(strings.TrimPrefix(aws.ToString(obj.Key), b.prefix)); err != nil {
				return err
			}
		}
	}
	return nil
}

// Delete implements bucket.Bucket.
func (b *Bucket) Delete(ctx context.Context, key string) error {
	if err := check(ctx, key); err != nil {
		return fmt.Errorf("deleting %s: %w", key, err)
	}
	_, err := b.client.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: &b.cfg.Bucket, Key: aws.String(b.key(key))})
	if err = b.translate(err); err != nil && !errors.Is(err, errNoSuchKey) {
		return fmt.Errorf("deleting %s: %w", key, err)
	}
	return nil
}

// check refuses cancelled contexts and invalid keys before any request.
func check(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return bucket.ValidateKey(key)
}
