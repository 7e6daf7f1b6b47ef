package s3

import (
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/sluicehq/sluice/tiering/bucket"
)

// errNoSuchKey marks a missing object, as opposed to a missing bucket; both
// are bucket.ErrNotFound, but Delete ignores only the first.
var errNoSuchKey = fmt.Errorf("%w: no such key", bucket.ErrNotFound)

// translate turns the SDK's not-found errors into bucket.ErrNotFound at the
// boundary, so no caller ever imports the SDK's error types.
func (b *Bucket) translate(err error) error {
	if err == nil {
		return nil
	}
	var noKey *types.NoSuchKey
	var notFound *types.NotFound
	var noBucket *types.NoSuchBucket
	switch {
	case errors.As(err, &noBucket) || apiCode(err) == "NoSuchBucket":
		return fmt.Errorf("%w: bucket %s does not exist", bucket.ErrNotFound, b.cfg.Bucket)
	case errors.As(err, &noKey) || errors.As(err, &notFound) || httpStatus(err) == http.StatusNotFound:
		return errNoSuchKey
	}
	return err
}

func apiCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

func httpStatus(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func isInvalidRange(err error) bool {
	return err != nil && (httpStatus(err) == http.StatusRequestedRangeNotSatisfiable || apiCode(err) == "InvalidRange")
}

// explainHeadBucket turns New's HeadBucket failure into what to fix.
func explainHeadBucket(cfg Config, err error) error {
	where := "AWS S3"
	if cfg.Endpoint != "" {
		where = cfg.Endpoint
	}
	var netErr net.Error
	var re *smithyhttp.ResponseError
	errors.As(err, &re)
	switch status := httpStatus(err); {
	case errors.As(err, &netErr) && status == 0:
		return fmt.Errorf("cannot reach the S3 endpoint %s: check the endpoint URL and that the server is up: %w", where, err)
	case status == http.StatusNotFound:
		return fmt.Errorf("%w: bucket %q does not exist at %s in region %s: create it, or fix the bucket name or region",
			bucket.ErrNotFound, cfg.Bucket, where, cfg.Region)
	case status == http.StatusForbidden:
		return fmt.Errorf("access to bucket %q at %s denied: check the AWS credentials and that the bucket policy "+
			"allows s3:ListBucket, s3:GetObject, s3:PutObject and s3:DeleteObject: %w", cfg.Bucket, where, err)
	case status == http.StatusMovedPermanently || status == http.StatusBadRequest:
		region := "its region"
		if re != nil && re.Response != nil && re.Response.Header.Get("X-Amz-Bucket-Region") != "" {
			region = re.Response.Header.Get("X-Amz-Bucket-Region")
		}
		return fmt.Errorf("bucket %q is not in region %s: set the region to %s: %w", cfg.Bucket, cfg.Region, region, err)
	}
	return fmt.Errorf("checking bucket %q at %s: %w", cfg.Bucket, where, err)
}
