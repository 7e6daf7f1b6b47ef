package testenv

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// RedisCluster is a Redis Cluster of redis-server children owned by one
// test: three primaries, no replicas, slots spread evenly by redis-cli.
type RedisCluster struct {
	Nodes []*Redis
}

// StartRedisCluster starts three cluster-enabled redis-servers on free
// loopback ports, joins them with `redis-cli --cluster create`, and returns
// once every node reports cluster_state:ok. opts apply to every node.
// t.Cleanup stops them.
func StartRedisCluster(t testing.TB, opts ...RedisOpt) *RedisCluster {
	t.Helper()
	cli := Need(t, "redis-cli")
	c := &RedisCluster{}
	args := []string{"--cluster", "create"}
	for range 3 {
		// nodes.conf goes in each node's own directory (redis-server runs
		// in --dir), so nodes never share it.
		o := append([]RedisOpt{WithArgs("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "5000")}, opts...)
		r := StartRedis(t, o...)
		c.Nodes = append(c.Nodes, r)
		args = append(args, r.Addr())
	}
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	for _, r := range c.Nodes {
		if err := waitClusterOK(ctx, r.Addr()); err != nil {
			t.Fatalf("waiting for the cluster on %s: %v", r.Addr(), err)
		}
	}
	return c
}

// waitClusterOK polls CLUSTER INFO until the node reports state ok.
func waitClusterOK(ctx context.Context, addr string) error {
	var last string
	for {
		info, err := Command(ctx, addr, "CLUSTER", "INFO")
		if err == nil && strings.Contains(info, "cluster_state:ok") {
			return nil
		}
		last = fmt.Sprint(info, err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w; last answer: %s", ctx.Err(), last)
		case <-time.After(pollEvery):
		}
	}
}

// Addrs are the nodes' host:port.
func (c *RedisCluster) Addrs() []string {
	as := make([]string, len(c.Nodes))
	for i, r := range c.Nodes {
		as[i] = r.Addr()
	}
	return as
}

// URL is the cluster's redis+cluster:// URL, naming every node.
func (c *RedisCluster) URL() string { return "redis+cluster://" + strings.Join(c.Addrs(), ",") }

// Flush empties every node (FLUSHALL), so that one cluster serves many
// tests one after another as if each had a fresh one.
func (c *RedisCluster) Flush(t testing.TB) {
	t.Helper()
	for _, a := range c.Addrs() {
		if _, err := Command(t.Context(), a, "FLUSHALL"); err != nil {
			t.Fatalf("FLUSHALL on %s: %v", a, err)
		}
	}
}

// Command sends one command to the Redis at addr and returns its reply: a
// status, an integer or a bulk string as text. An error reply is an error.
// It is for harness chores, where a client library would be overkill.
func Command(ctx context.Context, addr string, args ...string) (string, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	var req strings.Builder
	fmt.Fprintf(&req, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&req, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(conn, req.String()); err != nil {
		return "", err
	}
	rd := bufio.NewReader(conn)
	line, err := rd.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSuffix(line, "\r\n")
	switch {
	case strings.HasPrefix(line, "-"):
		return "", fmt.Errorf("%s answered %s", addr, line[1:])
	case strings.HasPrefix(line, "$"):
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(rd, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	case line != "":
		return line[1:], nil
	}
	return "", fmt.Errorf("%s answered an empty line", addr)
}
