package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	goredis "github.com/redis/go-redis/v9"
)

// Fixed credentials of the S3 gateway the bench starts. They grant nothing
// outside that gateway.
const (
	s3Access = "sluice-bench-access"
	s3Secret = "sluice-bench-secret-0123456789"
	s3Region = "us-east-1"
	s3Bucket = "sluice-bench"
)

// servers are the Redis, bucket and agent under test: the ones Config names,
// and child processes on free loopback ports for the others. close stops
// every child, last started first.
type servers struct {
	dir       string // data of the children, removed by close
	children  []*child
	redisURL  string
	bucketURL string
	// s3 is how the ceiling reaches the bucket; nil when it is not S3.
	s3        *s3Target
	agentBin  string
	agentArgs []string // Config.Produce and Config.AgentArgs as agent flags
	agentEnv  []string
	ownRedis  bool

	// throttle, when Config.S3Speed is below 1 or Config.S3Stragglers
	// above 0, stands between the agent and the S3 server; the ceiling
	// goes around it.
	throttle *throttle

	agent     *child // nil when Config.Agent names a running agent
	agentAddr string
	agentHTTP string
}

// agentName names the agent among the processes the bench watches.
const agentName = "sluice agent"

// startServers starts what cfg does not name. On error it stops what it
// started.
func startServers(ctx context.Context, cfg Config, agentBin string) (_ *servers, err error) {
	dir, err := os.MkdirTemp("", "sluice-bench-")
	if err != nil {
		return nil, fmt.Errorf("making a data directory: %w", err)
	}
	s := &servers{dir: dir, redisURL: cfg.Redis, bucketURL: cfg.Bucket, agentBin: agentBin,
		agentAddr: cfg.Agent, agentHTTP: cfg.AgentHTTP, agentArgs: append(produceFlags(cfg), strings.Fields(cfg.AgentArgs)...)}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if cfg.Redis == "" && cfg.Agent == "" {
		if err := s.startRedis(ctx); err != nil {
			return nil, err
		}
	}
	if s.bucketURL == "" && s.agentAddr == "" {
		if err := s.startS3(ctx, cfg.S3Speed < 1 || cfg.S3Stragglers > 0); err != nil {
			return nil, err
		}
	} else if s.bucketURL != "" {
		if s.s3, err = parseBucketURL(s.bucketURL); err != nil {
			return nil, err
		}
	}
	if s.agentAddr == "" {
		if err := s.startAgent(ctx); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func produceFlags(cfg Config) []string {
	p := cfg.Produce
	return []string{
		"--flush-interval", p.FlushInterval.String(),
		"--flush-bytes", strconv.Itoa(p.FlushBytes),
		"--buffer-bytes", strconv.FormatInt(p.BufferBytes, 10),
		"--flush-uploads", strconv.Itoa(p.Uploads),
		"--upload-timeout", p.UploadTimeout.String(),
		"--upload-hedges", strconv.FormatFloat(p.UploadHedges, 'g', -1, 64),
		"--commit-timeout", p.CommitTimeout.String(),
	}
}

// start runs start with a fresh free port, again on a new port if the child
// exits during startup (another process may take a probed port first).
func start(start func(port int) error) error {
	var err error
	for range 3 {
		var port int
		if port, err = freePort(); err != nil {
			return err
		}
		if err = start(port); !errors.Is(err, errExited) {
			return err
		}
	}
	return err
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// startRedis runs redis-server as production needs it: every write in the
// append-only file, fsynced before it is acknowledged.
func (s *servers) startRedis(ctx context.Context) error {
	bin, err := findBinary("redis-server")
	if err != nil {
		return err
	}
	s.ownRedis = true
	return start(func(port int) error {
		c, err := startChild("redis-server", bin, nil,
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", s.dir, "--save", "",
			"--appendonly", "yes", "--appendfsync", "always", "--daemonize", "no")
		if err != nil {
			return err
		}
		s.children = append(s.children, c)
		s.redisURL = fmt.Sprintf("redis://127.0.0.1:%d/0", port)
		return c.waitReady(ctx, "answer PING", func(ctx context.Context) error {
			opts, _ := goredis.ParseURL(s.redisURL)
			rc := goredis.NewClient(opts)
			defer rc.Close()
			return rc.Ping(ctx).Err()
		})
	})
}

// startS3 runs versitygw on its posix backend and creates the bucket through
// the S3 API, as any client would. With throttled, the agent is given the
// address of a throttle in front of it.
func (s *servers) startS3(ctx context.Context, throttled bool) error {
	bin, err := findBinary("versitygw")
	if err != nil {
		return err
	}
	data := filepath.Join(s.dir, "s3")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return err
	}
	err = start(func(port int) error {
		endpoint := fmt.Sprintf("http://127.0.0.1:%d", port)
		// versitygw closes every connection after one request unless told
		// otherwise; S3 keeps them open, and the figures should not carry a
		// connection set-up per GET and PUT.
		c, err := startChild("versitygw", bin, nil, "--access", s3Access, "--secret", s3Secret,
			"--region", s3Region, "--port", endpoint[len("http://"):], "--quiet", "--keep-alive", "posix", data)
		if err != nil {
			return err
		}
		s.children = append(s.children, c)
		s.s3 = &s3Target{bucket: s3Bucket, region: s3Region, endpoint: endpoint, pathStyle: true,
			creds: credentials.NewStaticCredentialsProvider(s3Access, s3Secret, "")}
		return c.waitReady(ctx, "answer HTTP on "+endpoint, func(ctx context.Context) error {
			return probeHTTP(ctx, endpoint+"/")
		})
	})
	if err != nil {
		return err
	}
	cl, err := s.s3.client(ctx)
	if err != nil {
		return err
	}
	if _, err := cl.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String(s3Bucket)}); err != nil {
		return fmt.Errorf("creating bucket %s on versitygw: %w", s3Bucket, err)
	}
	endpoint := s.s3.endpoint
	if throttled {
		if s.throttle, err = startThrottle(strings.TrimPrefix(endpoint, "http://")); err != nil {
			return fmt.Errorf("starting the S3 throttle: %w", err)
		}
		endpoint = "http://" + s.throttle.addr()
	}
	s.bucketURL = fmt.Sprintf("s3://%s?region=%s&endpoint=%s&path_style=true", s3Bucket, s3Region, endpoint)
	s.agentEnv = []string{"AWS_ACCESS_KEY_ID=" + s3Access, "AWS_SECRET_ACCESS_KEY=" + s3Secret,
		"AWS_REGION=" + s3Region, "AWS_EC2_METADATA_DISABLED=true",
		// A session token, profile or endpoint from the shell would be
		// sent along and break signing for the gateway.
		"AWS_SESSION_TOKEN=", "AWS_PROFILE=", "AWS_ENDPOINT_URL=", "AWS_ENDPOINT_URL_S3="}
	return nil
}

// probeHTTP succeeds on any HTTP answer.
func probeHTTP(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// startAgent runs `sluice agent` on the Redis and bucket, with the produce
// configuration of the bench. A running agent is replaced: restartAgent
// uses it to give replay a cold cache.
func (s *servers) startAgent(ctx context.Context) error {
	return start(func(port int) error {
		httpPort, err := freePort()
		if err != nil {
			return err
		}
		addr, httpAddr := fmt.Sprintf("127.0.0.1:%d", port), fmt.Sprintf("127.0.0.1:%d", httpPort)
		args := append([]string{"agent", "--redis", s.redisURL, "--bucket", s.bucketURL,
			"--listen", addr, "--http-listen", httpAddr}, s.agentArgs...)
		if !s.ownRedis {
			// A Redis given with --redis is the operator's; the bench
			// measures rather than judges its durability.
			args = append(args, "--accept-redis-data-loss")
		}
		c, err := startChild(agentName, s.agentBin, s.agentEnv, args...)
		if err != nil {
			return err
		}
		s.children = append(s.children, c)
		s.agent, s.agentAddr, s.agentHTTP = c, addr, httpAddr
		return c.waitReady(ctx, "accept Kafka clients on "+addr, func(ctx context.Context) error {
			var d net.Dialer
			conn, err := d.DialContext(ctx, "tcp", addr)
			if err == nil {
				conn.Close()
			}
			return err
		})
	})
}

// restartAgent drains the bench's agent and starts a fresh one on the same
// Redis and bucket. It does nothing for an agent the bench did not start.
func (s *servers) restartAgent(ctx context.Context) error {
	if s.agent == nil {
		return nil
	}
	if err := s.agent.stop(); err != nil {
		return err
	}
	return s.startAgent(ctx)
}

// close stops every child, the last started first, and removes their data.
func (s *servers) close() {
	for i := len(s.children) - 1; i >= 0; i-- {
		_ = s.children[i].stop()
	}
	if s.throttle != nil {
		s.throttle.close()
	}
	_ = os.RemoveAll(s.dir)
}

// redisOpts are the go-redis options of the Redis under test, or nil when
// the bench has no Redis address (an agent given with --agent alone).
func (s *servers) redisOpts() *goredis.Options {
	if s.redisURL == "" {
		return nil
	}
	opts, err := goredis.ParseURL(s.redisURL)
	if err != nil {
		return nil
	}
	opts.ReadTimeout = 5 * time.Second
	return opts
}
