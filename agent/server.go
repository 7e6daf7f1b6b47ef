package agent

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/agent/produce"
	"github.com/sluicehq/sluice/metadata"
	"github.com/sluicehq/sluice/tiering"
	"github.com/sluicehq/sluice/tiering/bucket"
)

// Store is the metadata an agent needs: topics, the offset log, and
// consumer groups' state and committed offsets.
type Store interface {
	metadata.TopicRegistry
	metadata.Log
	metadata.GroupStore
	metadata.OffsetStore
}

// Deps are the agent's backends.
type Deps struct {
	Store  Store
	Bucket bucket.Bucket
	Logger *slog.Logger
	// NewObjectKey returns a bucket key never used before; defaults to
	// tiering.NewIngestKey.
	NewObjectKey func() string
}

// Server is one Sluice agent: a Kafka protocol server over a produce buffer,
// a read path and the metadata store.
type Server struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
	apis map[int16]api
	ln   net.Listener
	self broker

	fleet  *fleet            // the live agents; see fleet.go
	groups *groupCoordinator // see groups.go

	topics *topicCache
	buf    *produce.Buffer
	view   *logView

	ctlMu    sync.Mutex
	controls map[int16]ControlFunc

	apiAttrs apiAttrs
}

// clusterID names the cluster in Metadata and DescribeCluster. Every agent
// of a fleet answers the same one.
const clusterID = "sluice"

// watchWait bounds how long Run waits for commit notifications before it
// serves anyway, uncached: a Redis that takes longer to subscribe still
// gets its agent answering.
const watchWait = 5 * time.Second

// broker is an agent as Metadata lists it.
type broker struct {
	nodeID int32
	host   string
	port   int32
	zone   string
}

// New binds the listener, registers the agent in the fleet (see fleet.go)
// and wires it; Run serves.
func New(cfg Config, deps Deps) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if deps.NewObjectKey == nil {
		deps.NewObjectKey = tiering.NewIngestKey
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", cfg.Listen, err)
	}
	self, err := advertised(cfg.Advertise, ln.Addr())
	if err != nil {
		ln.Close()
		return nil, err
	}
	self.zone = cfg.Zone
	fl, err := joinFleet(cfg, deps.Store, self, deps.Logger)
	if err != nil {
		ln.Close()
		return nil, err
	}
	srv := &Server{
		cfg:      cfg,
		deps:     deps,
		log:      deps.Logger,
		apis:     make(map[int16]api),
		ln:       ln,
		self:     fl.self,
		fleet:    fl,
		controls: make(map[int16]ControlFunc),
	}
	srv.topics = newTopicCache(deps.Store, cfg.MetadataCacheTTL)
	srv.view = newLogView(deps.Store, tiering.NewReader(deps.Bucket, cfg.FetchCacheBytes))
	pdeps := produce.Deps{Bucket: deps.Bucket, Log: deps.Store, NewKey: deps.NewObjectKey, Logger: deps.Logger}
	if cfg.CacheFlushed {
		// Tail consumers read what this agent just flushed: from memory.
		pdeps.Uploaded = srv.view.reader.Keep
	}
	if o, ok := deps.Store.(metadata.OrphanLog); ok {
		pdeps.Orphans = o
	}
	srv.buf = produce.New(cfg.Produce, pdeps)
	srv.registerAPIs()
	srv.initMetrics()
	return srv, nil
}

// Addr is the address the agent listens on.
func (srv *Server) Addr() net.Addr { return srv.ln.Addr() }

// Advertised is the host:port clients are told to dial.
func (srv *Server) Advertised() string {
	return net.JoinHostPort(srv.self.host, strconv.Itoa(int(srv.self.port)))
}

// Run serves clients until ctx ends, then drains: it stops accepting and
// reading, flushes what is buffered, answers every request already read,
// and returns nil. Draining is bounded by the configured drain timeout.
func (srv *Server) Run(ctx context.Context) error {
	bufCtx, stopBuf := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBuf()
	var bg sync.WaitGroup
	bg.Add(2)
	go func() { defer bg.Done(); _ = srv.buf.Run(bufCtx) }()
	watchCtx, stopWatch := context.WithCancel(context.Background())
	go func() { defer bg.Done(); srv.view.watch(watchCtx, srv.log) }()
	if cc, ok := srv.deps.Store.(metadata.CommitCounter); ok {
		bg.Add(1)
		go func() {
			defer bg.Done()
			recordCommitCount(watchCtx, cc, srv.deps.Bucket, srv.cfg.CommitCountInterval, srv.log)
		}()
	}
	if m := srv.newMaintainer(); m != nil {
		bg.Add(1)
		go func() { defer bg.Done(); m.run(watchCtx) }()
	}
	fleetCtx, leave := context.WithCancel(context.WithoutCancel(ctx))
	defer leave()
	bg.Add(1)
	go func() { defer bg.Done(); srv.fleet.run(fleetCtx) }()

	// Connections wait in the listen backlog until commits are watched: a
	// fetch answered before would cache what the first notification then
	// drops, and a consumer at the tail would ask metadata again.
	select {
	case <-srv.view.watching:
	case <-time.After(watchWait):
		srv.log.Warn("serving before commit notifications arrive; reads ask metadata until they do", "waited", watchWait)
	case <-ctx.Done():
	}
	var conns sync.WaitGroup
	go func() {
		<-ctx.Done()
		srv.ln.Close()
	}()
	for {
		nc, err := srv.ln.Accept()
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				srv.log.Error("accepting connections", "err", err)
			}
			break
		}
		conns.Add(1)
		go func() {
			defer conns.Done()
			newConn(srv, nc).serve(ctx)
		}()
	}
	// No new connections: leave the fleet while draining, so that the
	// other agents stop naming this one (bounded by the drain timeout).
	leave()
	// Connections stop reading at once but wait for the answers to what
	// they read, which needs the buffer to keep flushing; so the buffer
	// stops only after them (or at the drain timeout).
	drained := make(chan struct{})
	go func() { conns.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(srv.cfg.DrainTimeout):
		srv.log.Warn("drain timeout reached; closing with requests unanswered")
	}
	// Group actors answer what still waits on them NOT_COORDINATOR; the
	// store holds every group, so the next coordinator carries on.
	srv.groups.stop()
	stopBuf()
	stopWatch()
	bg.Wait()
	return nil
}

// advertised resolves the address clients are told to dial.
func advertised(adv string, addr net.Addr) (broker, error) {
	if adv == "" {
		adv = addr.String()
	}
	host, portStr, err := net.SplitHostPort(adv)
	if err != nil {
		return broker{}, fmt.Errorf("advertised address %q: %w", adv, err)
	}
	if host == "" || host == "::" || host == "0.0.0.0" {
		host = "127.0.0.1"
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return broker{}, fmt.Errorf("advertised port %q: %w", portStr, err)
	}
	if port == 0 { // a host found for a listener on port 0
		if ta, ok := addr.(*net.TCPAddr); ok {
			port, portStr = ta.Port, strconv.Itoa(ta.Port)
		}
	}
	h := fnv.New32a()
	h.Write([]byte(net.JoinHostPort(host, portStr)))
	return broker{nodeID: int32(h.Sum32() & 0x7fffffff), host: host, port: int32(port)}, nil
}

// ControlFunc intercepts a request in tests. It returns handled=false to
// let the request through; otherwise resp and err answer it (an error
// closes the connection).
type ControlFunc func(kreq kmsg.Request) (resp kmsg.Response, err error, handled bool)

// Control installs fn for apiKey; nil removes it. Test-only: it lets a test
// inject errors or delays per request, as kfake's ControlKey does.
func (srv *Server) Control(apiKey int16, fn ControlFunc) {
	srv.ctlMu.Lock()
	defer srv.ctlMu.Unlock()
	if fn == nil {
		delete(srv.controls, apiKey)
		return
	}
	srv.controls[apiKey] = fn
}

// reserve holds the produce buffer's room for a produce request of n
// bytes before it is read, and returns how much it held: 0 for other
// requests, or when the agent stops first. A request larger than the whole
// buffer is read without; the buffer then refuses its batches.
func (srv *Server) reserve(ctx context.Context, key int16, n int64) int64 {
	if key != produceKey || !srv.buf.Reserve(ctx, n) {
		return 0
	}
	return n
}

func (srv *Server) control(r *request) ControlFunc {
	srv.ctlMu.Lock()
	defer srv.ctlMu.Unlock()
	return srv.controls[r.kreq.Key()]
}
