package produce

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

var meter = otel.Meter("github.com/sluicehq/sluice/agent/produce")

var (
	flushes, _ = meter.Int64Counter("sluice.produce.flushes",
		metric.WithUnit("{flush}"), metric.WithDescription("Flushes sealed, by reason."))
	reasonAttr = func() map[flushReason]metric.AddOption {
		m := make(map[flushReason]metric.AddOption, len(flushReasons))
		for _, r := range flushReasons {
			m[r] = metric.WithAttributes(attribute.String("reason", string(r)))
		}
		return m
	}()
)

// initMetrics sets every label value to 0 so dashboards see them before the
// first flush. It runs when a buffer is made, after cmd installed the meter
// provider: adds made before that are not carried over.
func initMetrics() {
	for _, r := range flushReasons {
		flushes.Add(context.Background(), 0, reasonAttr[r])
	}
}
