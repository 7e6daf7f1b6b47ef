package bucket_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/sluicehq/sluice/tiering/bucket"
	"github.com/sluicehq/sluice/tiering/bucket/buckettest"
)

// telemetry installs fresh global providers; tests using it must not run in
// parallel.
func telemetry(t *testing.T) (*sdkmetric.ManualReader, *tracetest.SpanRecorder) {
	reader := sdkmetric.NewManualReader()
	spans := tracetest.NewSpanRecorder()
	prevM, prevT := otel.GetMeterProvider(), otel.GetTracerProvider()
	otel.SetMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)))
	t.Cleanup(func() { otel.SetMeterProvider(prevM); otel.SetTracerProvider(prevT) })
	return reader, spans
}

// counts returns sluice.bucket.operations by "operation/result".
func counts(t *testing.T, r *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "sluice.bucket.operations" {
				continue
			}
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				op, _ := dp.Attributes.Value("operation")
				res, _ := dp.Attributes.Value("result")
				out[op.AsString()+"/"+res.AsString()] = dp.Value
			}
		}
	}
	return out
}

func TestInstrumentCountsResults(t *testing.T) {
	reader, _ := telemetry(t)
	faulty := &buckettest.Faulty{Bucket: bucket.NewInMem()}
	b := bucket.Instrument(faulty)
	ctx := t.Context()
	if got := counts(t, reader); len(got) != 20 || got["upload/failure"] != 0 {
		t.Fatalf("series before any call: %v, want all 20 at zero", got)
	}
	b.Upload(ctx, "k", []byte("v"))
	faulty.FailUpload(errors.New("boom"))
	b.Upload(ctx, "k", []byte("v"))
	b.Size(ctx, "missing")
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	b.Upload(cancelled, "k", nil)
	got := counts(t, reader)
	want := map[string]int64{"upload/success": 1, "upload/failure": 1, "upload/canceled": 1, "size/not_found": 1}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
}

func TestInstrumentGetRangeSpanEndsAtClose(t *testing.T) {
	_, spans := telemetry(t)
	b := bucket.Instrument(bucket.NewInMem())
	ctx := t.Context()
	if err := b.Upload(ctx, "k", []byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	rc, err := b.GetRange(ctx, "k", 2, 5)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(spans.Ended()); n != 1 {
		t.Fatalf("%d spans ended before the reader was read, want only the upload's", n)
	}
	io.ReadAll(rc)
	rc.Close()
	rc.Close()
	ended := spans.Ended()
	if len(ended) != 2 || ended[1].Name() != "bucket.GetRange" {
		t.Fatalf("ended spans %v, want upload then one GetRange", ended)
	}
	if !hasAttr(ended[1].Attributes(), attribute.Int64("bucket.bytes_read", 5)) {
		t.Fatalf("GetRange span attributes %v lack bytes_read=5", ended[1].Attributes())
	}
}

func hasAttr(attrs []attribute.KeyValue, want attribute.KeyValue) bool {
	for _, a := range attrs {
		if a == want {
			return true
		}
	}
	return false
}
