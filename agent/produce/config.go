package produce

import (
	"errors"
	"flag"
	"time"
)

// Config bounds the produce buffer.
type Config struct {
	FlushInterval time.Duration `yaml:"flush_interval"`
	FlushBytes    int           `yaml:"flush_bytes"`
	BufferBytes   int64         `yaml:"buffer_bytes"`
	// ReserveWait is how long a produce request waits unread for room in
	// a full buffer before it is read anyway, to be answered with a
	// retriable error if no room comes within its own timeout.
	ReserveWait time.Duration `yaml:"reserve_wait"`
	// Uploads is how many flushes may upload at once. Commits still happen
	// one at a time, in flush order.
	Uploads       int           `yaml:"uploads"`
	UploadTimeout time.Duration `yaml:"upload_timeout"`
	// UploadHedges is the share of uploads that may be started a second
	// time beside a straggler (see bucket.Hedger). It is 0, off, unless
	// the operator sets it: a hedge is a second PUT of its flush, past the
	// bound of one PUT per flush (design §5).
	UploadHedges  float64       `yaml:"upload_hedges"`
	CommitTimeout time.Duration `yaml:"commit_timeout"`
}

// RegisterFlags registers the buffer's flags with their defaults.
func (c *Config) RegisterFlags(prefix string, f *flag.FlagSet) {
	f.DurationVar(&c.FlushInterval, prefix+"flush-interval", 250*time.Millisecond, "Longest a produced batch waits in memory before its flush starts.")
	f.IntVar(&c.FlushBytes, prefix+"flush-bytes", 8<<20, "Buffered bytes that start a flush before the interval ends.")
	f.Int64Var(&c.BufferBytes, prefix+"buffer-bytes", 128<<20, "Most produce request bytes held in memory, read or waiting for a flush or its commit; past it produce requests wait unread (see --reserve-wait) until flushes free room.")
	f.DurationVar(&c.ReserveWait, prefix+"reserve-wait", 5*time.Second, "Longest a produce request waits unread while the buffer is full; it is then read and waits its own timeout for room before a retriable REQUEST_TIMED_OUT.")
	f.IntVar(&c.Uploads, prefix+"flush-uploads", 8, "Flushes uploading at the same time; each holds one encoded object, whose bytes --buffer-bytes counts.")
	f.DurationVar(&c.UploadTimeout, prefix+"upload-timeout", 10*time.Second, "Longest one object upload may take before the flush fails.")
	f.Float64Var(&c.UploadHedges, prefix+"upload-hedges", 0, "Share of uploads that may be started a second time beside one still running after three times the median of recent uploads (at least 100ms), so that a straggling PUT does not hold up the flushes committed after it (0.05: at most 5% more PUTs than flushes); 0, the default, keeps one PUT per flush.")
	f.DurationVar(&c.CommitTimeout, prefix+"commit-timeout", 5*time.Second, "Longest one metadata commit may take before the flush fails.")
}

// Validate says what is wrong with the configuration.
func (c *Config) Validate() error {
	switch {
	case c.FlushInterval <= 0:
		return errors.New("--flush-interval must be positive")
	case c.FlushBytes < 1:
		return errors.New("--flush-bytes must be positive")
	case c.BufferBytes < int64(c.FlushBytes):
		return errors.New("--buffer-bytes must be at least --flush-bytes")
	case c.ReserveWait < 0:
		return errors.New("--reserve-wait must not be negative")
	case c.Uploads < 1:
		return errors.New("--flush-uploads must be at least 1")
	case c.UploadTimeout <= 0 || c.CommitTimeout <= 0:
		return errors.New("--upload-timeout and --commit-timeout must be positive")
	case c.UploadHedges < 0 || c.UploadHedges > 1:
		return errors.New("--upload-hedges must be between 0 and 1")
	}
	return nil
}
