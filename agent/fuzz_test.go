package agent

import (
	"context"
	"encoding/binary"
	"flag"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/metadata/memory"
	"github.com/sluicehq/sluice/tiering/bucket"
)

// fuzzServer runs an agent on in-memory backends for the fuzz targets.
func fuzzServer(f *testing.F) *Server {
	var cfg Config
	cfg.RegisterFlags("", flag.NewFlagSet("fuzz", flag.PanicOnError))
	cfg.Listen = "127.0.0.1:0"
	cfg.Produce.FlushInterval = time.Millisecond
	srv, err := New(cfg, Deps{Store: memory.New(), Bucket: bucket.NewInMem(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		f.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Run(ctx) }()
	f.Cleanup(func() { cancel(); <-done })
	return srv
}

// frameBody is a request as it appears after the size prefix.
func frameBody(r kmsg.Request, version int16) []byte {
	r.SetVersion(version)
	var fr kmsg.RequestFormatter
	b := fr.AppendRequest(nil, r, 1)
	return b[4:]
}

func seedRequests(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 3})
	f.Add(make([]byte, 64))
	f.Add(frameBody(kmsg.NewPtrApiVersionsRequest(), 3))
	f.Add(frameBody(kmsg.NewPtrMetadataRequest(), 12))
	f.Add(frameBody(kmsg.NewPtrMetadataRequest(), 0))
	// A claimed count of four billion tagged fields where the body ends:
	// kmsg before v1.15.1 counted them all down, a minute of CPU.
	meta := frameBody(kmsg.NewPtrMetadataRequest(), 12)
	f.Add(append(meta[:len(meta)-1], 0xff, 0xff, 0xff, 0xff, 0x0f))
	p := kmsg.NewPtrProduceRequest()
	p.Acks = 1
	pt := kmsg.NewProduceRequestTopic()
	pt.Topic = "t"
	pp := kmsg.NewProduceRequestTopicPartition()
	pp.Records = make([]byte, 61)
	pt.Partitions = append(pt.Partitions, pp)
	p.Topics = append(p.Topics, pt)
	f.Add(frameBody(p, 9))
	f.Add(frameBody(p, 3))
	fr := kmsg.NewPtrFetchRequest()
	fr.MaxWaitMillis = 1
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = "t"
	ft.Partitions = append(ft.Partitions, kmsg.NewFetchRequestTopicPartition())
	fr.Topics = append(fr.Topics, ft)
	f.Add(frameBody(fr, 12))
	f.Add(frameBody(fr, 4))
	f.Add(append(frameBody(kmsg.NewPtrListOffsetsRequest(), 7), 0xff, 0xfe))
	f.Add(frameBody(kmsg.NewPtrCreateTopicsRequest(), 7))
}

// FuzzRequest feeds arbitrary request bodies through decoding and the
// handlers. Invariant: the body is refused with an error (the connection
// would close), or it is answered with a response of the same API key that
// encodes and decodes again.
func FuzzRequest(f *testing.F) {
	seedRequests(f)
	srv := fuzzServer(f)
	pipe, _ := net.Pipe()
	c := newConn(srv, pipe)
	f.Fuzz(func(t *testing.T, body []byte) {
		type decoded struct {
			req   *request
			early kmsg.Response
			err   error
		}
		ch := make(chan decoded, 1)
		go func() {
			req, early, err := c.decode(body)
			ch <- decoded{req, early, err}
		}()
		var d decoded
		select {
		case d = <-ch:
		case <-time.After(5 * time.Second):
			t.Fatal("decoding took over 5s")
		}
		req, early, err := d.req, d.early, d.err
		if err != nil {
			return
		}
		s := &slot{req: req, done: make(chan outcome, 1)}
		if early != nil {
			s.respond(early, nil)
		} else {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			srv.dispatch(ctx, s)
		}
		var o outcome
		select {
		case o = <-s.done:
		case <-time.After(10 * time.Second):
			t.Fatalf("api %d: no answer within 10s", req.kreq.Key())
		}
		if o.err != nil || o.skip {
			return
		}
		if o.resp.Key() != req.kreq.Key() {
			t.Fatalf("answered api %d with api %d", req.kreq.Key(), o.resp.Key())
		}
		out := frame(nil, req.corr, o.resp)
		if got := int(binary.BigEndian.Uint32(out)); got != len(out)-4 {
			t.Fatalf("frame size %d, body %d", got, len(out)-4)
		}
		again := kmsg.ResponseForKey(o.resp.Key())
		again.SetVersion(o.resp.GetVersion())
		start := 8
		if o.resp.IsFlexible() && o.resp.Key() != apiVersionsKey {
			start++
		}
		if err := again.ReadFrom(out[start:]); err != nil {
			t.Fatalf("api %d v%d: response does not decode: %v", o.resp.Key(), o.resp.GetVersion(), err)
		}
	})
}

// FuzzFrames streams arbitrary bytes into a connection, as a hostile or
// broken client would. Invariant: the connection ends by itself once the
// client hangs up, without a panic and without waiting on anything.
func FuzzFrames(f *testing.F) {
	valid := frameBody(kmsg.NewPtrMetadataRequest(), 1)
	framed := binary.BigEndian.AppendUint32(nil, uint32(len(valid)))
	framed = append(framed, valid...)
	f.Add([]byte{})
	f.Add(framed)
	f.Add(append(append([]byte{}, framed...), framed...))
	f.Add(framed[:len(framed)-3])
	f.Add([]byte{0x7f, 0xff, 0xff, 0xff})
	f.Add(append(append([]byte{}, framed...), 0xde, 0xad))
	srv := fuzzServer(f)
	f.Fuzz(func(t *testing.T, stream []byte) {
		client, server := net.Pipe()
		done := make(chan struct{})
		go func() { defer close(done); newConn(srv, server).serve(context.Background()) }()
		go func() { _, _ = io.Copy(io.Discard, client) }()
		_ = client.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_, _ = client.Write(stream)
		client.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("connection still open 10s after the client hung up")
		}
	})
}
