package agent

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// maxInFlight bounds the requests of one connection that are read but not
// yet answered. Kafka clients pipeline up to five produce requests per
// connection; the bound keeps a misbehaving client from queueing without end.
const maxInFlight = 16

// request is one decoded Kafka request on a connection.
type request struct {
	conn     *conn
	kreq     kmsg.Request
	corr     int32
	clientID string
	at       time.Time
	// reserved is the produce buffer's room held for a produce request
	// before its body was read; its handler passes it on to the buffer
	// or gives it back.
	reserved int64
}

// outcome is what a handler produced for a request: a response, no response
// at all (acks=0 produce), or an error that closes the connection.
type outcome struct {
	resp kmsg.Response
	skip bool
	err  error
}

// slot carries one request's outcome to the write goroutine, which takes
// slots in request order so responses leave in the order requests came.
type slot struct {
	req  *request
	done chan outcome
}

// respond completes a slot. It is called exactly once per request.
func (s *slot) respond(resp kmsg.Response, err error) { s.done <- outcome{resp: resp, err: err} }

// conn serves one client connection with a read and a write goroutine.
type conn struct {
	srv    *Server
	nc     net.Conn
	log    *slog.Logger
	slots  chan *slot
	wg     sync.WaitGroup // handler goroutines that answer later (fetch)
	closed chan struct{}
}

func newConn(srv *Server, nc net.Conn) *conn {
	return &conn{
		srv:    srv,
		nc:     nc,
		log:    srv.log.With("remote", nc.RemoteAddr().String()),
		slots:  make(chan *slot, maxInFlight),
		closed: make(chan struct{}),
	}
}

// serve runs the connection until the client leaves, a request is bad, or
// ctx is cancelled. Cancellation stops reading new requests but lets every
// request already read be answered: that is how a draining agent keeps its
// promises. serve returns only after both goroutines and every handler
// started for this connection have finished.
func (c *conn) serve(ctx context.Context) {
	defer c.nc.Close()
	writeDone := make(chan struct{})
	go func() {
		defer close(writeDone)
		c.write()
	}()
	stopRead := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			// A deadline in the past unblocks the reader without
			// discarding responses not yet written.
			_ = c.nc.SetReadDeadline(time.Now())
		case <-c.closed:
			c.nc.Close()
		case <-stopRead:
		}
	}()
	// Handlers get a context that ends with the reader, so a long poll
	// stops waiting once its client is gone or the agent drains.
	hctx, cancel := context.WithCancel(ctx)
	err := c.read(hctx)
	cancel()
	close(stopRead)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && ctx.Err() == nil {
		c.log.Info("closing connection", "err", err)
	}
	close(c.slots)
	<-writeDone
	c.wg.Wait()
}

func (c *conn) shutdown() {
	select {
	case <-c.closed:
	default:
		close(c.closed)
	}
}

// read decodes requests and hands each to its handler in arrival order.
func (c *conn) read(ctx context.Context) error {
	// The size prefix, then the header's fixed part: api key, version
	// and correlation ID, which frameSizeOK guarantees are there.
	var head [4 + 8]byte
	for {
		if _, err := io.ReadFull(c.nc, head[:4]); err != nil {
			return err
		}
		n := int32(binary.BigEndian.Uint32(head[:4]))
		if !frameSizeOK(n, c.srv.cfg.MaxRequestBytes) {
			return fmt.Errorf("request size %d outside [8, %d] bytes", n, c.srv.cfg.MaxRequestBytes)
		}
		if _, err := io.ReadFull(c.nc, head[4:]); err != nil {
			return fmt.Errorf("reading request header: %w", err)
		}
		reserved := c.srv.reserve(ctx, int16(binary.BigEndian.Uint16(head[4:])), int64(n))
		body := make([]byte, n)
		copy(body, head[4:])
		if _, err := io.ReadFull(c.nc, body[len(head)-4:]); err != nil {
			c.srv.buf.Release(reserved)
			return fmt.Errorf("reading request body: %w", err)
		}
		req, early, err := c.decode(body)
		if err != nil {
			c.srv.buf.Release(reserved)
			return err
		}
		req.reserved = reserved
		s := &slot{req: req, done: make(chan outcome, 1)}
		select {
		case c.slots <- s:
		case <-c.closed:
			c.srv.buf.Release(reserved)
			return nil
		}
		if early != nil {
			s.respond(early, nil)
			continue
		}
		c.srv.dispatch(ctx, s)
	}
}

// frameSizeOK reports whether a size prefix may be read: at least a request
// header's fixed part, at most the configured limit. It is checked before
// anything is allocated.
func frameSizeOK(n int32, limit int64) bool {
	return n >= 8 && int64(n) <= limit
}

// decode parses the request header and body. An ApiVersions request of a
// version we do not serve gets its fallback answer (early) instead of being
// parsed, as KIP-511 asks.
func (c *conn) decode(body []byte) (*request, kmsg.Response, error) {
	r := kbin.Reader{Src: body}
	key, version, corr := r.Int16(), r.Int16(), r.Int32()
	clientID := r.NullableString()
	if !r.Ok() {
		return nil, nil, errors.New("decoding request header: truncated")
	}
	kreq := kmsg.RequestForKey(key)
	if kreq == nil || !c.srv.registered(key) {
		return nil, nil, fmt.Errorf("unknown api key %d", key)
	}
	req := &request{conn: c, kreq: kreq, corr: corr, at: time.Now()}
	if clientID != nil {
		req.clientID = *clientID
	}
	if !c.srv.supports(key, version) {
		if key == apiVersionsKey {
			kreq.SetVersion(0)
			return req, unsupportedAPIVersions(), nil
		}
		return nil, nil, fmt.Errorf("api key %d version %d is not supported", key, version)
	}
	kreq.SetVersion(version)
	if kreq.IsFlexible() {
		kmsg.SkipTags(&r)
	}
	if !r.Ok() {
		return nil, nil, fmt.Errorf("decoding api key %d v%d header: truncated tags", key, version)
	}
	if err := kreq.ReadFrom(r.Src); err != nil {
		return nil, nil, fmt.Errorf("decoding api key %d v%d: %w", key, version, err)
	}
	return req, nil, nil
}

// write sends responses in request order.
func (c *conn) write() {
	defer c.shutdown()
	var buf []byte
	for s := range c.slots {
		var o outcome
		select {
		case o = <-s.done:
		case <-c.closed:
			c.drain()
			return
		}
		if o.err != nil {
			c.log.Info("closing connection", "api", s.req.kreq.Key(), "err", o.err)
			c.drain()
			return
		}
		c.srv.observe(s.req.kreq.Key(), s.req.at)
		if o.skip {
			continue
		}
		buf = frame(buf[:0], s.req.corr, o.resp)
		if _, err := c.nc.Write(buf); err != nil {
			c.drain()
			return
		}
	}
}

// drain empties the slot queue after the writer gives up, so the reader is
// never blocked on a full queue.
func (c *conn) drain() {
	c.shutdown()
	for range c.slots {
	}
}

// frame appends the size-prefixed response to buf. ApiVersions responses
// always use header v0 so that a client that does not yet know our
// versions can parse them.
func frame(buf []byte, corr int32, resp kmsg.Response) []byte {
	buf = append(buf, 0, 0, 0, 0, 0, 0, 0, 0)
	if resp.IsFlexible() && resp.Key() != apiVersionsKey {
		buf = append(buf, 0)
	}
	buf = resp.AppendTo(buf)
	binary.BigEndian.PutUint32(buf[0:4], uint32(len(buf)-4))
	binary.BigEndian.PutUint32(buf[4:8], uint32(corr))
	return buf
}
