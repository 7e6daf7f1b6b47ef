package bench

import (
	"context"
	"io"
	"net"
	"sync"
	"time"
)

// throttle is a TCP proxy in front of the S3 server that passes at most a
// set number of bytes per second each way, over all its connections: the
// S3 server slowed down, to see the agent under a load S3 cannot absorb.
// Until setRate is called it passes everything at once. It can also stall
// the connection that carries every so many bytes towards the server, as
// a straggling PUT.
type throttle struct {
	ln     net.Listener
	target string
	up     pacer // client to server
	down   pacer // server to client
	stall  staller

	// ctx ends at close: dials and paced copies stop waiting.
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// startThrottle listens on a free loopback port and forwards to target.
func startThrottle(target string) (*throttle, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	t := &throttle{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	t.wg.Go(t.accept)
	return t, nil
}

func (t *throttle) addr() string { return t.ln.Addr().String() }

// setRate limits each direction to bytesPerSec.
func (t *throttle) setRate(bytesPerSec float64) {
	t.up.set(bytesPerSec)
	t.down.set(bytesPerSec)
}

func (t *throttle) accept() {
	for {
		c, err := t.ln.Accept()
		if err != nil {
			return
		}
		t.wg.Go(func() { t.serve(c) })
	}
}

// serve forwards one connection until either side closes it.
func (t *throttle) serve(c net.Conn) {
	var d net.Dialer
	s, err := d.DialContext(t.ctx, "tcp", t.target)
	if err != nil {
		c.Close()
		return
	}
	if !t.track(c, s) {
		return
	}
	defer t.untrack(c, s)
	var wg sync.WaitGroup
	wg.Go(func() { t.up.copy(s, c, t.ctx.Done(), &t.stall); closeWrite(s) })
	t.down.copy(c, s, t.ctx.Done(), nil)
	closeWrite(c)
	wg.Wait()
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}

func (t *throttle) track(cs ...net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		for _, c := range cs {
			c.Close()
		}
		return false
	}
	for _, c := range cs {
		t.conns[c] = struct{}{}
	}
	return true
}

func (t *throttle) untrack(cs ...net.Conn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range cs {
		c.Close()
		delete(t.conns, c)
	}
}

// close stops accepting, closes every connection and waits for the
// goroutines that served them.
func (t *throttle) close() {
	t.ln.Close()
	t.cancel()
	t.mu.Lock()
	t.closed = true
	for c := range t.conns {
		c.Close()
	}
	t.mu.Unlock()
	t.wg.Wait()
}

// pacer spaces out chunks so that all connections together pass at most
// rate bytes per second; a rate of 0 passes everything at once.
type pacer struct {
	mu   sync.Mutex
	rate float64
	next time.Time // when the bytes reserved so far have passed
}

func (p *pacer) set(bytesPerSec float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rate = bytesPerSec
}

// wait blocks until n more bytes may pass, or done is closed.
func (p *pacer) wait(n int, done <-chan struct{}) bool {
	p.mu.Lock()
	if p.rate <= 0 {
		p.mu.Unlock()
		return true
	}
	now := time.Now()
	at := p.next
	if at.Before(now) {
		at = now
	}
	p.next = at.Add(time.Duration(float64(n) / p.rate * float64(time.Second)))
	p.mu.Unlock()
	return sleep(time.Until(at), done)
}

// sleep waits d and reports true, or false if done is closed first.
func sleep(d time.Duration, done <-chan struct{}) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-done:
		return false
	}
}

// copy moves bytes from src to dst in chunks, each waiting for its turn
// and for st when it is set, until either side fails or done is closed.
func (p *pacer) copy(dst io.Writer, src io.Reader, done <-chan struct{}, st *staller) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.wait(n, done) || (st != nil && !st.wait(n, done)) {
				return
			}
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// staller holds up the chunk that carries the passed bytes over each
// multiple of every, for d; every 0 holds up nothing.
type staller struct {
	mu     sync.Mutex
	every  int64
	d      time.Duration
	passed int64
}

func (st *staller) set(every int64, d time.Duration) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.every, st.d = every, d
}

// wait counts n bytes, and blocks for d if they cross a multiple of every,
// or until done is closed.
func (st *staller) wait(n int, done <-chan struct{}) bool {
	st.mu.Lock()
	before := st.passed
	st.passed += int64(n)
	hit := st.every > 0 && before/st.every != st.passed/st.every
	d := st.d
	st.mu.Unlock()
	return !hit || sleep(d, done)
}
