package bucket_test

import (
	"testing"

	"github.com/sluicehq/sluice/tiering/bucket"
	"github.com/sluicehq/sluice/tiering/bucket/buckettest"
)

func TestInMemAcceptance(t *testing.T) {
	buckettest.AcceptanceTest(t, bucket.NewInMem())
}

func TestFaultyAcceptance(t *testing.T) {
	// With nothing armed, Faulty must be a transparent wrapper.
	buckettest.AcceptanceTest(t, &buckettest.Faulty{Bucket: bucket.NewInMem()})
}

func TestInstrumentedAcceptance(t *testing.T) {
	buckettest.AcceptanceTest(t, bucket.Instrument(bucket.NewInMem()))
}
