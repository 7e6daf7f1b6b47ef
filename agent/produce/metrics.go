package produce

import (
	"context"
	"time"

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
	stageDuration, _ = meter.Float64Histogram("sluice.produce.flush.stage.duration",
		metric.WithUnit("s"), metric.WithDescription("Time a flush spends in each stage from seal to answer: waiting for an upload slot (queue), encoding and uploading (upload), waiting for the flush before it (order), and committing (commit)."),
		metric.WithExplicitBucketBoundaries(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
	stageAttr = func() map[flushStage]metric.RecordOption {
		m := make(map[flushStage]metric.RecordOption, len(flushStages))
		for _, s := range flushStages {
			m[s] = metric.WithAttributes(attribute.String("stage", string(s)))
		}
		return m
	}()
)

// flushStage names a step of a sealed flush's way to its answer; a metric
// label. Produce latency is their sum plus the time until the seal, so a
// slow stage shows which of S3, Redis or the agent's own upload slots holds
// producers back.
type flushStage string

const (
	stageQueue  flushStage = "queue"
	stageUpload flushStage = "upload"
	stageOrder  flushStage = "order"
	stageCommit flushStage = "commit"
)

var flushStages = []flushStage{stageQueue, stageUpload, stageOrder, stageCommit}

// stageTimer records consecutive stages of one flush.
type stageTimer struct{ last time.Time }

func newStageTimer() stageTimer { return stageTimer{last: time.Now()} }

// done records the time since the last stage ended as stage s.
func (t *stageTimer) done(s flushStage) {
	now := time.Now()
	stageDuration.Record(context.Background(), now.Sub(t.last).Seconds(), stageAttr[s])
	t.last = now
}

// initMetrics sets every label value to 0 so dashboards see them before the
// first flush. It runs when a buffer is made, after cmd installed the meter
// provider: adds made before that are not carried over.
func initMetrics() {
	for _, r := range flushReasons {
		flushes.Add(context.Background(), 0, reasonAttr[r])
	}
}
