package agent

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

var meter = otel.Meter("github.com/sluicehq/sluice/agent")

var (
	requests, _ = meter.Int64Counter("sluice.agent.requests",
		metric.WithUnit("{request}"), metric.WithDescription("Kafka requests answered, by API."))
	commitCountRecords, _ = meter.Int64Counter("sluice.agent.commit_count.records",
		metric.WithUnit("{put}"), metric.WithDescription("Uploads of the commit count to the bucket, the only PUTs besides flushes."))
	requestDuration, _ = meter.Float64Histogram("sluice.agent.request.duration",
		metric.WithUnit("s"), metric.WithDescription("Time from reading a request to its answer, by API."),
		metric.WithExplicitBucketBoundaries(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
)

// apiAttrs holds one attribute set per served API: label values come from
// the fixed registry, never from client input.
type apiAttrs map[int16]metric.MeasurementOption

func (srv *Server) initMetrics() {
	srv.apiAttrs = make(apiAttrs, len(srv.apis))
	for key := range srv.apis {
		srv.apiAttrs[key] = metric.WithAttributes(attribute.String("api", kmsg.NameForKey(key)))
		requests.Add(context.Background(), 0, srv.apiAttrs[key])
	}
}

// observe records one answered request.
func (srv *Server) observe(key int16, started time.Time) {
	attrs := srv.apiAttrs[key]
	requests.Add(context.Background(), 1, attrs)
	requestDuration.Record(context.Background(), time.Since(started).Seconds(), attrs)
}
