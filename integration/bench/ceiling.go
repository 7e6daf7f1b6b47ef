package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicehq/sluice/tiering/bucket/s3"
)

// s3Target is how the ceiling reaches the bucket under test.
type s3Target struct {
	bucket, prefix, region, endpoint string
	pathStyle                        bool
	// creds is nil for the SDK's default chain, as the agent uses.
	creds aws.CredentialsProvider
}

// parseBucketURL reads the s3:// URL form the agent takes (see
// tiering.OpenBucket); any other scheme has no S3 ceiling and yields nil.
func parseBucketURL(raw string) (*s3Target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("--bucket %q: %w", raw, err)
	}
	if u.Scheme != "s3" {
		return nil, nil
	}
	t := &s3Target{bucket: u.Host, prefix: strings.Trim(u.Path, "/")}
	q := u.Query()
	t.region, t.endpoint = q.Get("region"), q.Get("endpoint")
	if v := q.Get("path_style"); v != "" {
		if t.pathStyle, err = strconv.ParseBool(v); err != nil {
			return nil, fmt.Errorf("--bucket %q: path_style: %w", raw, err)
		}
	}
	return t, nil
}

// client builds an S3 client configured as the agent's (bucket/s3.New):
// the same SDK, defaults, endpoint and addressing.
func (t *s3Target) client(ctx context.Context) (*awss3.Client, error) {
	opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithHTTPClient(s3.NewHTTPClient())}
	if t.region != "" {
		opts = append(opts, awsconfig.WithRegion(t.region))
	}
	if t.creds != nil {
		opts = append(opts, awsconfig.WithCredentialsProvider(t.creds))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("loading AWS configuration: %w", err)
	}
	return awss3.NewFromConfig(cfg, func(o *awss3.Options) {
		if t.endpoint != "" {
			o.BaseEndpoint = aws.String(t.endpoint)
		}
		o.UsePathStyle = t.pathStyle
		o.DisableLogOutputChecksumValidationSkipped = true
		// The same signing as the agent's bucket (tiering/bucket/s3), so
		// the ceiling is measured with the agent's client.
		o.APIOptions = append(o.APIOptions, v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
	}), nil
}

func (t *s3Target) key(name string) string {
	if t.prefix == "" {
		return name
	}
	return t.prefix + "/" + name
}

// Ceiling is what the S3 server does with the SDK alone: whole-object PUTs
// and GETs of the flush size.
type Ceiling struct {
	ObjectBytes    int     `json:"object_bytes"`
	PutConcurrency int     `json:"put_concurrency"`
	GetConcurrency int     `json:"get_concurrency"`
	Puts           int64   `json:"puts"`
	PutMBps        float64 `json:"put_mb_per_sec"`
	PutLatency     Latency `json:"put_latency"`
	Gets           int64   `json:"gets"`
	GetMBps        float64 `json:"get_mb_per_sec"`
	GetLatency     Latency `json:"get_latency"`
}

// runCeiling PUTs objects of size with putN workers for d, GETs them back
// with getN workers for d, and deletes them.
func runCeiling(ctx context.Context, t *s3Target, prog *progress, size, putN, getN int, d time.Duration) (*Ceiling, error) {
	cl, err := t.client(ctx)
	if err != nil {
		return nil, err
	}
	data := make([]byte, size)
	_, _ = rand.Read(data)
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	var (
		mu   sync.Mutex
		keys []string
		seq  atomic.Int64
	)
	c := &Ceiling{ObjectBytes: size, PutConcurrency: putN, GetConcurrency: getN}
	put := func(ctx context.Context) error {
		key := t.key(fmt.Sprintf("bench-ceiling/%s/%06d", run, seq.Add(1)))
		_, err := cl.PutObject(ctx, &awss3.PutObjectInput{Bucket: &t.bucket, Key: &key,
			Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(size))})
		if err == nil {
			mu.Lock()
			keys = append(keys, key)
			mu.Unlock()
		}
		return err
	}
	defer func() { deleteKeys(context.WithoutCancel(ctx), cl, t.bucket, keys) }()
	var putLat latencies
	n, el, err := workers(ctx, prog, "ceiling: S3 PUT", putN, d, size, &putLat, put)
	if err != nil {
		return nil, fmt.Errorf("measuring PUTs: %w", err)
	}
	c.Puts, c.PutMBps, c.PutLatency = n, mbps(n*int64(size), el), putLat.summary()
	var next atomic.Int64
	get := func(ctx context.Context) error {
		key := keys[int(next.Add(1))%len(keys)]
		out, err := cl.GetObject(ctx, &awss3.GetObjectInput{Bucket: &t.bucket, Key: &key})
		if err != nil {
			return err
		}
		defer out.Body.Close()
		_, err = io.Copy(io.Discard, out.Body)
		return err
	}
	var getLat latencies
	n, el, err = workers(ctx, prog, "ceiling: S3 GET", getN, d, size, &getLat, get)
	if err != nil {
		return nil, fmt.Errorf("measuring GETs: %w", err)
	}
	c.Gets, c.GetMBps, c.GetLatency = n, mbps(n*int64(size), el), getLat.summary()
	return c, nil
}

// workers runs op in n goroutines until d has passed, and returns how many
// calls succeeded and how long they took in all. The first error stops it.
func workers(ctx context.Context, prog *progress, name string, n int, d time.Duration, size int,
	lat *latencies, op func(context.Context) error) (int64, time.Duration, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var done atomic.Int64
	began := time.Now()
	stop := prog.phase(name, d, func(el time.Duration) string {
		k := done.Load()
		return fmt.Sprintf("%7.1f MB/s  %5.1f ops/s  p99 %5.0fms", mbps(k*int64(size), el),
			float64(k)/el.Seconds(), float64(lat.quantile(0.99))/1e6)
	})
	defer stop()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for time.Since(began) < d && ctx.Err() == nil {
				t0 := time.Now()
				if err := op(ctx); err != nil {
					cancel(err)
					return
				}
				lat.record(time.Since(t0))
				done.Add(1)
			}
		})
	}
	wg.Wait()
	el := time.Since(began)
	if err := context.Cause(ctx); err != nil {
		return 0, 0, err
	}
	if done.Load() == 0 {
		return 0, 0, errors.New("no operation finished")
	}
	return done.Load(), el, nil
}

// deleteKeys removes the ceiling's objects, four at a time.
func deleteKeys(ctx context.Context, cl *awss3.Client, bucket string, keys []string) {
	ch := make(chan string)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for k := range ch {
				_, _ = cl.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: &bucket, Key: &k})
			}
		})
	}
	for _, k := range keys {
		ch <- k
	}
	close(ch)
	wg.Wait()
}
