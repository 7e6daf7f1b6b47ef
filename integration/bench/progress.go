package bench

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// progress prints one status line per phase while it runs: rewritten in
// place every second on a terminal, every five seconds otherwise (a CI log).
type progress struct {
	w     io.Writer
	tty   bool
	every time.Duration
}

func newProgress(w io.Writer) *progress {
	if w == nil {
		w = io.Discard
	}
	p := &progress{w: w, every: 5 * time.Second}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty, p.every = true, time.Second
		}
	}
	return p
}

// phase prints name, the time spent of length, and line() until stop is
// called; stop prints the final line and waits for the printer to end.
func (p *progress) phase(name string, length time.Duration, line func(elapsed time.Duration) string) (stop func()) {
	began := time.Now()
	show := func(end string) {
		el := time.Since(began)
		text := fmt.Sprintf("%-24s %3.0f/%.0fs  %s", name, el.Seconds(), length.Seconds(), line(el))
		if p.tty {
			fmt.Fprintf(p.w, "\r\033[K%s%s", text, end)
			return
		}
		fmt.Fprintln(p.w, text)
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(p.every)
		defer t.Stop()
		for {
			select {
			case <-quit:
				show("\n")
				return
			case <-t.C:
				show("")
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(quit)
			<-done
		})
	}
}

// mbps is bytes per second in MB (10^6 bytes) per second.
func mbps(bytes int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(bytes) / 1e6 / d.Seconds()
}
