package bench

import (
	"math"
	"sync/atomic"
	"time"
)

// Latency buckets grow by 1% from 1µs, up to 1000s: quantiles are exact to
// within 1%, and recording is one atomic add, so every record is counted.
const (
	latencyGrowth  = 1.01
	latencyBuckets = 2100
)

var logGrowth = math.Log(latencyGrowth)

// latencies is a histogram of durations, safe for concurrent use.
type latencies struct {
	counts [latencyBuckets]atomic.Int64
}

func (l *latencies) record(d time.Duration) {
	us := float64(d) / float64(time.Microsecond)
	i := 0
	if us >= 1 {
		i = min(int(math.Log(us)/logGrowth)+1, latencyBuckets-1)
	}
	l.counts[i].Add(1)
}

// quantile returns the upper bound of the bucket holding quantile q, or 0
// when nothing was recorded.
func (l *latencies) quantile(q float64) time.Duration {
	var total int64
	for i := range l.counts {
		total += l.counts[i].Load()
	}
	if total == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(total)))
	var seen int64
	for i := range l.counts {
		if seen += l.counts[i].Load(); seen >= max(rank, 1) {
			return time.Duration(math.Pow(latencyGrowth, float64(i)) * float64(time.Microsecond))
		}
	}
	return time.Duration(math.Pow(latencyGrowth, latencyBuckets) * float64(time.Microsecond))
}

// Latency holds quantiles in milliseconds.
type Latency struct {
	P50  float64 `json:"p50_ms"`
	P99  float64 `json:"p99_ms"`
	P999 float64 `json:"p999_ms"`
}

func (l *latencies) summary() Latency {
	ms := func(q float64) float64 { return float64(l.quantile(q)) / float64(time.Millisecond) }
	return Latency{P50: ms(0.5), P99: ms(0.99), P999: ms(0.999)}
}
