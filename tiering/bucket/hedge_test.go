package bucket

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// stragglers is an Uploader whose calls take the durations given in turn
// (a call past the list takes the last) and then succeed or return the
// error given for them. A call returns early, with ctx's error, when its
// context ends.
type stragglers struct {
	mu    sync.Mutex
	takes []time.Duration
	errs  map[int]error
	calls int
	ended []int // calls that returned, in order
}

func (s *stragglers) Upload(ctx context.Context, _ string, _ []byte) error {
	s.mu.Lock()
	n := s.calls
	s.calls++
	d := s.takes[min(n, len(s.takes)-1)]
	err := s.errs[n]
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.ended = append(s.ended, n)
		s.mu.Unlock()
	}()
	select {
	case <-time.After(d):
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// warm makes n uploads of 10ms each, so that the hedge delay is 4 x 10ms
// raised to the 100ms floor.
func warm(t *testing.T, h *Hedger, n int) {
	t.Helper()
	for range n {
		if err := h.Upload(t.Context(), "k", nil); err != nil {
			t.Fatal(err)
		}
	}
}

func TestHedgeStartsASecondUploadBesideAStraggler(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &stragglers{takes: []time.Duration{10 * time.Millisecond}}
		h := NewHedger(s, 1)
		warm(t, h, hedgeMinSamples)
		s.calls, s.ended = 0, nil
		s.takes = []time.Duration{time.Minute, 10 * time.Millisecond} // the straggler, then its hedge
		start := time.Now()
		if err := h.Upload(t.Context(), "k", nil); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took != hedgeFloor+10*time.Millisecond {
			t.Errorf("the straggling upload took %v, want the hedge delay %v and the hedge's 10ms", took, hedgeFloor)
		}
		// The straggler was cancelled and had returned before Upload did:
		// the caller may reuse the data.
		if s.calls != 2 || len(s.ended) != 2 {
			t.Errorf("%d calls, %d returned; want 2, both returned", s.calls, len(s.ended))
		}
	})
}

func TestHedgesAreRationed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &stragglers{takes: []time.Duration{10 * time.Millisecond}}
		h := NewHedger(s, 0.1)
		warm(t, h, hedgeMinSamples) // 0.8 of a hedge saved up
		s.takes = []time.Duration{time.Second}
		start := time.Now()
		if err := h.Upload(t.Context(), "k", nil); err != nil { // the ninth: 0.9
			t.Fatal(err)
		}
		if took := time.Since(start); took != time.Second {
			t.Errorf("upload without a hedge left took %v, want 1s", took)
		}
		calls := s.calls
		s.takes = []time.Duration{time.Second, 10 * time.Millisecond}
		s.calls = 0
		start = time.Now()
		if err := h.Upload(t.Context(), "k", nil); err != nil { // the tenth: one hedge
			t.Fatal(err)
		}
		if took := time.Since(start); took >= time.Second || s.calls != 2 {
			t.Errorf("upload with a hedge saved up took %v in %d calls, want under 1s in 2 (after %d calls)", took, s.calls, calls)
		}
	})
}

func TestHedgeWaitsOutAFailedAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		down := errors.New("503")
		s := &stragglers{takes: []time.Duration{10 * time.Millisecond}}
		h := NewHedger(s, 1)
		warm(t, h, hedgeMinSamples)
		// An error before the hedge delay is the upload's: the store's
		// client has retried already.
		s.errs = map[int]error{hedgeMinSamples: down}
		if err := h.Upload(t.Context(), "k", nil); !errors.Is(err, down) || s.calls != hedgeMinSamples+1 {
			t.Errorf("Upload = %v after %d calls, want the error and no hedge", err, s.calls-hedgeMinSamples)
		}
		// A straggler that fails after its hedge started leaves the hedge
		// to succeed.
		s.calls, s.ended = 0, nil
		s.takes = []time.Duration{150 * time.Millisecond, 100 * time.Millisecond}
		s.errs = map[int]error{0: down}
		if err := h.Upload(t.Context(), "k", nil); err != nil {
			t.Errorf("Upload = %v, want the hedge's success", err)
		}
		// Both failing is an error.
		s.calls = 0
		s.errs = map[int]error{0: down, 1: down}
		if err := h.Upload(t.Context(), "k", nil); !errors.Is(err, down) {
			t.Errorf("Upload = %v with both attempts failed, want %v", err, down)
		}
	})
}
