package agent_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/agent/agenttest"
)

// rawConn dials the agent for hand-made frames.
func rawConn(t *testing.T, a *agenttest.Agent) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", a.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

// expectClosed fails unless the agent closes c without answering.
func expectClosed(t *testing.T, c net.Conn) {
	t.Helper()
	buf := make([]byte, 1)
	// A close with unread bytes in the agent's receive buffer arrives as a
	// reset; either way the agent hung up.
	if _, err := c.Read(buf); !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read = %v, want the agent to close the connection", err)
	}
}

// request frames a kmsg request by hand so that its header can be bent.
func request(key, version int16, corr int32, body []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(key))
	b = binary.BigEndian.AppendUint16(b, uint16(version))
	b = binary.BigEndian.AppendUint32(b, uint32(corr))
	b = binary.BigEndian.AppendUint16(b, 0xffff) // null client id
	b = append(b, body...)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

// stillServes proves other clients are unaffected.
func stillServes(t *testing.T, a *agenttest.Agent) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(a.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.Ping(ctx); err != nil {
		t.Fatalf("agent stopped serving: %v", err)
	}
}

func TestBadFramesCloseOnlyThatConnection(t *testing.T) {
	a := agenttest.Start(t)
	cases := map[string][]byte{
		"garbage":          []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		"size 2GiB":        {0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0},
		"negative size":    {0xff, 0xff, 0xff, 0xff},
		"tiny size":        {0, 0, 0, 2, 0, 0},
		"unknown api key":  request(9999, 0, 1, nil),
		"unknown version":  request(3, 99, 1, nil),
		"truncated header": {0, 0, 0, 9, 0, 3, 0, 1, 0, 0, 0, 1, 0},
		"truncated body":   request(3, 1, 1, []byte{0, 0, 0, 5}),
	}
	for name, frame := range cases {
		t.Run(name, func(t *testing.T) {
			c := rawConn(t, a)
			if _, err := c.Write(frame); err != nil {
				t.Fatal(err)
			}
			expectClosed(t, c)
			stillServes(t, a)
		})
	}
}

func TestTruncatedFrameThenHangUp(t *testing.T) {
	a := agenttest.Start(t)
	c := rawConn(t, a)
	_, _ = c.Write([]byte{0, 0, 1, 0, 0, 3}) // promises 256 bytes, sends 2
	c.Close()
	stillServes(t, a)
}

func TestApiVersionsUnknownVersionFallsBack(t *testing.T) {
	a := agenttest.Start(t)
	c := rawConn(t, a)
	if _, err := c.Write(request(18, 99, 7, []byte{1, 2, 3})); err != nil {
		t.Fatal(err)
	}
	var size [4]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(c, body); err != nil {
		t.Fatal(err)
	}
	if corr := int32(binary.BigEndian.Uint32(body)); corr != 7 {
		t.Fatalf("correlation id = %d, want 7", corr)
	}
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = 0
	if err := resp.ReadFrom(body[4:]); err != nil {
		t.Fatal(err)
	}
	if resp.ErrorCode != kerr.UnsupportedVersion.Code || len(resp.ApiKeys) != 1 || resp.ApiKeys[0].MaxVersion != 3 {
		t.Fatalf("response = %+v, want UNSUPPORTED_VERSION with ApiVersions 0-3", resp)
	}
}

func TestApiVersionsAdvertisesFromZero(t *testing.T) {
	a := agenttest.Start(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(a.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	resp, err := kmsg.NewPtrApiVersionsRequest().RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int16]int16{0: 11, 1: 12, 2: 7, 3: 12, 18: 3, 19: 7, 20: 6, 22: 5, 23: 4, 32: 4, 33: 2, 37: 3, 44: 1, 60: 1}
	got := map[int16]int16{}
	for _, k := range resp.ApiKeys {
		if k.MinVersion != 0 {
			t.Errorf("api %d: min version %d, want 0", k.ApiKey, k.MinVersion)
		}
		got[k.ApiKey] = k.MaxVersion
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("api %d: max version %d, want %d", k, got[k], v)
		}
	}
}
