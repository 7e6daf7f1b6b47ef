package bucket

import (
	"context"
	"errors"
	"io"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

const instrumentationName = "github.com/sluicehq/sluice/tiering"

// Operation names, used as the operation label and in span names.
const (
	OpUpload   = "upload"
	OpGetRange = "get_range"
	OpSize     = "size"
	OpIter     = "iter"
	OpDelete   = "delete"
)

// Result label values. Not-found and cancellation are outcomes callers
// expect (an orphan check, a client that went away), so they are kept apart
// from failures, which should page someone.
const (
	resultSuccess  = "success"
	resultNotFound = "not_found"
	resultCanceled = "canceled"
	resultFailure  = "failure"
)

var (
	allOps     = []string{OpUpload, OpGetRange, OpSize, OpIter, OpDelete}
	allResults = []string{resultSuccess, resultNotFound, resultCanceled, resultFailure}
	spanNames  = map[string]string{
		OpUpload: "bucket.Upload", OpGetRange: "bucket.GetRange", OpSize: "bucket.Size",
		OpIter: "bucket.Iter", OpDelete: "bucket.Delete",
	}
)

// instrumented decorates a Bucket with metrics and spans; backends stay
// uninstrumented.
type instrumented struct {
	b        Bucket
	tracer   trace.Tracer
	duration metric.Float64Histogram
	ops      metric.Int64Counter
}

var (
	_ Bucket      = (*instrumented)(nil)
	_ CRCUploader = (*instrumented)(nil)
)

// Instrument wraps b so that every call records a span and the metrics
// sluice.bucket.operation.duration{operation} (seconds) and
// sluice.bucket.operations{operation,result}, using the global OpenTelemetry
// providers. A GetRange is measured and traced until its reader is closed.
// Errors creating the instruments go to otel.Handle; the instruments are
// still usable, as the OpenTelemetry API guarantees.
func Instrument(b Bucket) Bucket {
	meter := otel.Meter(instrumentationName)
	duration, err := meter.Float64Histogram("sluice.bucket.operation.duration",
		metric.WithUnit("s"), metric.WithDescription("Time of bucket operations, until the reader is closed for get_range."),
		// Buckets from a memory hit to a slow multi-MiB PUT.
		metric.WithExplicitBucketBoundaries(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
	handle(err)
	ops, err := meter.Int64Counter("sluice.bucket.operations",
		metric.WithUnit("{operation}"), metric.WithDescription("Bucket operations by result."))
	handle(err)
	// Series exist from zero, so a rate over a fresh process is not empty.
	for _, op := range allOps {
		for _, r := range allResults {
			ops.Add(context.Background(), 0, metric.WithAttributes(opAttr(op), resultAttr(r)))
		}
	}
	return &instrumented{b: b, tracer: otel.Tracer(instrumentationName), duration: duration, ops: ops}
}

func handle(err error) {
	if err != nil {
		otel.Handle(err)
	}
}

func keyAttr(key string) attribute.KeyValue  { return attribute.String("bucket.key", key) }
func opAttr(op string) attribute.KeyValue    { return attribute.String("operation", op) }
func resultAttr(r string) attribute.KeyValue { return attribute.String("result", r) }

// start opens the span of op on key.
func (i *instrumented) start(ctx context.Context, op string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	return i.tracer.Start(ctx, spanNames[op], trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
}

// finish records the outcome of op and ends its span.
func (i *instrumented) finish(ctx context.Context, span trace.Span, op string, began time.Time, err error) {
	r := result(ctx, err)
	if r == resultFailure {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.SetAttributes(resultAttr(r))
	span.End()
	i.duration.Record(ctx, time.Since(began).Seconds(), metric.WithAttributes(opAttr(op)))
	i.ops.Add(ctx, 1, metric.WithAttributes(opAttr(op), resultAttr(r)))
}

func result(ctx context.Context, err error) string {
	switch {
	case err == nil:
		return resultSuccess
	case errors.Is(err, ErrNotFound):
		return resultNotFound
	case errors.Is(err, context.Canceled) || errors.Is(ctx.Err(), context.Canceled):
		return resultCanceled
	}
	return resultFailure
}

// Upload implements Bucket.
func (i *instrumented) Upload(ctx context.Context, key string, data []byte) error {
	began := time.Now()
	ctx, span := i.start(ctx, OpUpload, keyAttr(key), attribute.Int("bucket.bytes", len(data)))
	err := i.b.Upload(ctx, key, data)
	i.finish(ctx, span, OpUpload, began, err)
	return err
}

// UploadCRC implements CRCUploader, passing crc on when the bucket it
// wraps takes it.
func (i *instrumented) UploadCRC(ctx context.Context, key string, data []byte, crc uint32) error {
	began := time.Now()
	ctx, span := i.start(ctx, OpUpload, keyAttr(key), attribute.Int("bucket.bytes", len(data)))
	err := UploadCRC(ctx, i.b, key, data, crc)
	i.finish(ctx, span, OpUpload, began, err)
	return err
}

// GetRange implements Bucket. The span and the duration end when the
// returned reader is closed, so they cover the transfer, not just the
// response headers.
func (i *instrumented) GetRange(ctx context.Context, key string, off, length int64) (io.ReadCloser, error) {
	began := time.Now()
	ctx, span := i.start(ctx, OpGetRange, keyAttr(key), attribute.Int64("bucket.offset", off), attribute.Int64("bucket.length", length))
	rc, err := i.b.GetRange(ctx, key, off, length)
	if err != nil {
		i.finish(ctx, span, OpGetRange, began, err)
		return nil, err
	}
	return &tracedReader{rc: rc, i: i, ctx: ctx, span: span, began: began}, nil
}

// Size implements Bucket.
func (i *instrumented) Size(ctx context.Context, key string) (int64, error) {
	began := time.Now()
	ctx, span := i.start(ctx, OpSize, keyAttr(key))
	n, err := i.b.Size(ctx, key)
	i.finish(ctx, span, OpSize, began, err)
	return n, err
}

// Iter implements Bucket.
func (i *instrumented) Iter(ctx context.Context, prefix string, fn func(key string) error) error {
	began := time.Now()
	ctx, span := i.start(ctx, OpIter, attribute.String("bucket.prefix", prefix))
	err := i.b.Iter(ctx, prefix, fn)
	i.finish(ctx, span, OpIter, began, err)
	return err
}

// Delete implements Bucket.
func (i *instrumented) Delete(ctx context.Context, key string) error {
	began := time.Now()
	ctx, span := i.start(ctx, OpDelete, keyAttr(key))
	err := i.b.Delete(ctx, key)
	i.finish(ctx, span, OpDelete, began, err)
	return err
}

// tracedReader ends a GetRange's span and measurement in Close, recording
// the bytes read and the first read error other than EOF.
type tracedReader struct {
	rc    io.ReadCloser
	i     *instrumented
	ctx   context.Context
	span  trace.Span
	began time.Time
	n     int64
	err   error
	done  bool
}

func (r *tracedReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	r.n += int64(n)
	if err != nil && !errors.Is(err, io.EOF) && r.err == nil {
		r.err = err
	}
	return n, err
}

// Close closes the underlying reader; only the first call ends the span.
func (r *tracedReader) Close() error {
	err := r.rc.Close()
	if r.done {
		return err
	}
	r.done = true
	r.span.SetAttributes(attribute.Int64("bucket.bytes_read", r.n))
	r.i.finish(r.ctx, r.span, OpGetRange, r.began, r.err)
	return err
}
