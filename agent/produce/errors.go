package produce

import "errors"

var (
	// ErrBufferFull is returned by Append when the buffer stayed full until
	// the request's deadline. Producers should retry.
	ErrBufferFull = errors.New("produce buffer full")
	// ErrClosed is returned by Append once the buffer has stopped taking
	// batches because the agent is draining.
	ErrClosed = errors.New("produce buffer closed")
	// ErrTooLarge is returned by Append when one request holds more bytes
	// than the whole buffer may.
	ErrTooLarge = errors.New("produce request larger than the buffer")
	// ErrFlushFailed is passed to done when the flush holding a request
	// could not be uploaded or committed. Nothing of that flush is visible;
	// producers should retry.
	ErrFlushFailed = errors.New("flush failed")
)
