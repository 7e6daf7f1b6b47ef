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
			// Pre-initialise every label value to 0 so dashboards see them.
			flushes.Add(context.Background(), 0, m[r])
		}
		return m
	}()
)
