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
	// Uploads is how many flushes may upload at once. Commits still happen
	// one at a time, in flush order.
	Uploads       int           `yaml:"uploads"`
	UploadTimeout time.Duration `yaml:"upload_timeout"`
	CommitTimeout time.Duration `yaml:"commit_timeout"`
}

// RegisterFlags registers the buffer's flags with their defaults.
func (c *Config) RegisterFlags(prefix string, f *flag.FlagSet) {
	f.DurationVar(&c.FlushInterval, prefix+"flush-interval", 250*time.Millisecond, "Longest a produced batch waits in memory before its flush starts.")
	f.IntVar(&c.FlushBytes, prefix+"flush-bytes", 8<<20, "Buffered bytes that start a flush before the interval ends.")
	f.Int64Var(&c.BufferBytes, prefix+"buffer-bytes", 128<<20, "Most produce request bytes held in memory, read or waiting for a flush or its commit; past it the agent reads no more produce requests until flushes free room.")
	f.IntVar(&c.Uploads, prefix+"flush-uploads", 8, "Flushes uploading at the same time; each holds one encoded object, whose bytes --buffer-bytes counts.")
	f.DurationVar(&c.UploadTimeout, prefix+"upload-timeout", 10*time.Second, "Longest one object upload may take before the flush fails.")
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
	case c.Uploads < 1:
		return errors.New("--flush-uploads must be at least 1")
	case c.UploadTimeout <= 0 || c.CommitTimeout <= 0:
		return errors.New("--upload-timeout and --commit-timeout must be positive")
	}
	return nil
}
