package bucket

import (
	"context"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Uploader is the part of a Bucket that writes objects.
type Uploader interface {
	Upload(ctx context.Context, key string, data []byte) error
}

// Hedger uploads through another Uploader, and starts a second attempt of
// an upload still running long after recent uploads finished, keeping
// whichever succeeds first. Object stores have rare stragglers many times
// slower than the median, and the produce path commits flushes in order, so
// one straggling PUT would otherwise hold up every flush sealed after it, up
// to the upload timeout. Hedging is safe because a key is only ever written
// with the same bytes (see the package comment).
//
// An upload is hedged once it has run hedgeFactor times the median of the
// last hedgeSamples successful uploads, and at least hedgeFloor; until
// hedgeMinSamples uploads have succeeded, after hedgeWarmup. Hedges are
// rationed to a share of uploads, so that a store slow for everyone gets at
// most that share more PUTs, not twice as many.
type Hedger struct {
	u      Uploader
	share  float64
	hedges metric.Int64Counter

	mu     sync.Mutex
	recent []time.Duration // ring of successful uploads' durations
	next   int
	tokens float64
}

const (
	// hedgeSamples is few enough that the delay follows a change of load
	// within a second or two: the median of uploads under full load, kept
	// into a calmer phase, held its stragglers up for a second.
	hedgeSamples    = 16
	hedgeMinSamples = 8
	hedgeFactor     = 3
	hedgeFloor      = 100 * time.Millisecond
	hedgeWarmup     = time.Second
	// hedgeBurst caps the saved-up hedges, so that a long calm does not
	// buy a burst of them when the store turns slow.
	hedgeBurst = 4
)

// NewHedger hedges uploads through u, at most share of them (0.05: one in
// twenty). It records sluice.bucket.upload.hedges{result} with the global
// OpenTelemetry meter provider.
func NewHedger(u Uploader, share float64) *Hedger {
	hedges, err := otel.Meter(instrumentationName).Int64Counter("sluice.bucket.upload.hedges",
		metric.WithUnit("{upload}"), metric.WithDescription("Second attempts started beside a straggling upload, by which attempt succeeded first (won: the second)."))
	handle(err)
	for _, r := range hedgeResults {
		hedges.Add(context.Background(), 0, hedgeAttrs[r])
	}
	return &Hedger{u: u, share: share, hedges: hedges}
}

var (
	_ Uploader    = (*Hedger)(nil)
	_ CRCUploader = (*Hedger)(nil)
)

// Hedge results: the second attempt succeeded first, or the first did, or
// neither.
const (
	hedgeWon    = "won"
	hedgeLost   = "lost"
	hedgeFailed = "failed"
)

var (
	hedgeResults = []string{hedgeWon, hedgeLost, hedgeFailed}
	hedgeAttrs   = func() map[string]metric.AddOption {
		m := make(map[string]metric.AddOption, len(hedgeResults))
		for _, r := range hedgeResults {
			m[r] = metric.WithAttributes(attribute.String("result", r))
		}
		return m
	}()
)

// Upload implements Uploader.
func (h *Hedger) Upload(ctx context.Context, key string, data []byte) error {
	return h.upload(ctx, func(ctx context.Context) error { return h.u.Upload(ctx, key, data) })
}

// UploadCRC implements CRCUploader, through u's UploadCRC when it has one.
func (h *Hedger) UploadCRC(ctx context.Context, key string, data []byte, crc uint32) error {
	return h.upload(ctx, func(ctx context.Context) error { return UploadCRC(ctx, h.u, key, data, crc) })
}

// upload runs put, and a second put once the first has run past the hedge
// delay, and returns once every attempt it started has returned: the
// caller may reuse the data then, and a loser still reading it would
// upload what replaced it.
func (h *Hedger) upload(ctx context.Context, put func(context.Context) error) error {
	start := time.Now()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		second bool
		err    error
	}
	results := make(chan result, 2)
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { results <- result{false, put(ctx)} })
	timer := time.NewTimer(h.delay())
	defer timer.Stop()
	running, hedged := 1, false
	var firstErr error
	for {
		select {
		case r := <-results:
			running--
			if r.err == nil {
				cancel()
				h.observe(time.Since(start))
				switch {
				case hedged && r.second:
					h.hedges.Add(ctx, 1, hedgeAttrs[hedgeWon])
				case hedged:
					h.hedges.Add(ctx, 1, hedgeAttrs[hedgeLost])
				}
				return nil
			}
			if firstErr == nil {
				firstErr = r.err
			}
			if running == 0 {
				if hedged {
					h.hedges.Add(ctx, 1, hedgeAttrs[hedgeFailed])
				}
				return firstErr
			}
		case <-timer.C:
			if h.take() {
				running, hedged = running+1, true
				wg.Go(func() { results <- result{true, put(ctx)} })
			}
		}
	}
}

// delay is how long an upload runs before it is hedged.
func (h *Hedger) delay() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tokens = min(h.tokens+h.share, hedgeBurst)
	if len(h.recent) < hedgeMinSamples {
		return hedgeWarmup
	}
	sorted := slices.Clone(h.recent)
	slices.Sort(sorted)
	return max(hedgeFloor, hedgeFactor*sorted[len(sorted)/2])
}

// take spends one hedge of the ration, if there is one.
func (h *Hedger) take() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.tokens < 1-1e-9 { // a share of 0.1 added ten times is not quite 1
		return false
	}
	h.tokens--
	return true
}

func (h *Hedger) observe(d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.recent) < hedgeSamples {
		h.recent = append(h.recent, d)
		return
	}
	h.recent[h.next] = d
	h.next = (h.next + 1) % hedgeSamples
}
