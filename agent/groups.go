package agent

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/sluicehq/sluice/metadata"
	"github.com/sluicehq/sluice/metadata/group"
)

// Group coordination, agent side.
//
// Each group this agent coordinates has one goroutine (a groupActor, in
// group_actor.go) that owns its group.Group state machine and is fed
// closures by the handlers; the actor loads the group from the store the
// first time it sees it, saves it (compare-and-set on the generation)
// before any answer that depends on a new generation, and exits once the
// group has been idle for a while. Committed offsets go to the store from
// the actor too, fenced by the generation, so a member of a stale
// generation, or of a coordinator that lost the group, cannot commit.

// GroupConfig configures group coordination, with Kafka's defaults.
type GroupConfig struct {
	// MinSessionTimeout and MaxSessionTimeout bound the session timeout a
	// member may ask for (group.min.session.timeout.ms and
	// group.max.session.timeout.ms).
	MinSessionTimeout time.Duration `yaml:"group_min_session_timeout"`
	MaxSessionTimeout time.Duration `yaml:"group_max_session_timeout"`
	// OffsetsRetention is how long an empty group's committed offsets are
	// kept (offsets.retention.minutes).
	OffsetsRetention time.Duration `yaml:"offsets_retention"`
}

// RegisterFlags registers the group flags with Kafka's defaults.
func (c *GroupConfig) RegisterFlags(prefix string, f *flag.FlagSet) {
	f.DurationVar(&c.MinSessionTimeout, prefix+"group-min-session-timeout", 6*time.Second, "Shortest session timeout a group member may ask for (Kafka's group.min.session.timeout.ms).")
	f.DurationVar(&c.MaxSessionTimeout, prefix+"group-max-session-timeout", 30*time.Minute, "Longest session timeout a group member may ask for (Kafka's group.max.session.timeout.ms).")
	f.DurationVar(&c.OffsetsRetention, prefix+"offsets-retention", 7*24*time.Hour, "How long an empty group's committed offsets are kept (Kafka's offsets.retention.minutes).")
}

// Validate says what is wrong with the group flags.
func (c *GroupConfig) Validate() error {
	switch {
	case c.MinSessionTimeout <= 0 || c.MaxSessionTimeout < c.MinSessionTimeout:
		return errors.New("--group-min-session-timeout must be positive and at most --group-max-session-timeout")
	case c.OffsetsRetention <= 0:
		return errors.New("--offsets-retention must be positive")
	}
	return nil
}

// Kafka's defaults for what the agent does not take as flags.
const (
	// offsetMetadataMaxBytes is Kafka's offset.metadata.max.bytes.
	offsetMetadataMaxBytes = 4096
	// groupIdleLinger is how long an idle group's actor stays loaded.
	groupIdleLinger = 30 * time.Second
	// groupStoreTimeout bounds one store call of an actor.
	groupStoreTimeout = 10 * time.Second
)

// groupStore is the metadata a coordinator uses; a test seam for the
// actor tests, which run on a memory store without a Server.
type groupStore interface {
	metadata.GroupStore
	metadata.OffsetStore
}

// groupCoordinator serves the group APIs and owns the group actors.
type groupCoordinator struct {
	srv       *Server // nil in actor tests
	store     groupStore
	log       *slog.Logger
	cfg       group.Config
	retention time.Duration
	linger    time.Duration

	// stopped ends every actor; stop cancels it and waits for them.
	stopped context.Context
	cancel  context.CancelFunc

	mu     sync.Mutex
	actors map[string]*groupActor
	wg     sync.WaitGroup // actor goroutines
}

func newGroupCoordinator(cfg GroupConfig, store groupStore, log *slog.Logger) *groupCoordinator {
	stopped, cancel := context.WithCancel(context.Background())
	return &groupCoordinator{
		store:     store,
		log:       log,
		cfg:       group.Config{MinSessionTimeout: cfg.MinSessionTimeout, MaxSessionTimeout: cfg.MaxSessionTimeout},
		retention: cfg.OffsetsRetention,
		linger:    groupIdleLinger,
		stopped:   stopped,
		cancel:    cancel,
		actors:    make(map[string]*groupActor),
	}
}

// stop ends every actor, answering what waits on them NOT_COORDINATOR so
// that members find the group's next coordinator, and waits for them.
// Nothing is lost: the store holds every group's state.
func (gc *groupCoordinator) stop() {
	gc.cancel()
	gc.wg.Wait()
}

// registerGroupAPIs wires the consumer-group APIs (FindCoordinator,
// JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch,
// ListGroups, DescribeGroups, DeleteGroups, OffsetDelete).
func (srv *Server) registerGroupAPIs() {
	gc := newGroupCoordinator(srv.cfg.Groups, srv.deps.Store, srv.log)
	gc.srv = srv
	srv.groups = gc
	srv.register(8, 0, 8, syncHandler(gc.handleOffsetCommit))
	srv.register(9, 0, 8, syncHandler(gc.handleOffsetFetch))
	srv.register(10, 0, 4, syncHandler(srv.handleFindCoordinator))
	srv.register(11, 0, 9, gc.handleJoinGroup)
	srv.register(12, 0, 4, syncHandler(gc.handleHeartbeat))
	srv.register(13, 0, 5, syncHandler(gc.handleLeaveGroup))
	srv.register(14, 0, 5, gc.handleSyncGroup)
	srv.register(15, 0, 5, syncHandler(gc.handleDescribeGroups))
	srv.register(16, 0, 4, syncHandler(gc.handleListGroups))
	srv.register(42, 0, 2, syncHandler(gc.handleDeleteGroups))
	srv.register(47, 0, 0, syncHandler(gc.handleOffsetDelete))
}

// coordinator is the agent that coordinates the group (or transactional
// id) key: rendezvous hashing of key over every live agent, whatever the
// client's zone, as partition leadership is (fleet.go), so every agent
// names the same coordinator while they list the same agents.
func (srv *Server) coordinator(key string) broker {
	return rendezvous(stringKey(key), srv.brokers())
}

// checkGroup is the error a request for group gets before reaching its
// actor: INVALID_GROUP_ID for an empty id where Kafka refuses one,
// NOT_COORDINATOR when another agent coordinates it.
func (gc *groupCoordinator) checkGroup(id string, allowEmpty bool) error {
	if id == "" && !allowEmpty {
		return kerr.InvalidGroupID
	}
	if gc.srv.coordinator(id).nodeID != gc.srv.self.nodeID {
		return kerr.NotCoordinator
	}
	return nil
}

// call runs fn on the group's actor, loading the group first if needed,
// and returns once fn ran and whatever it changed is saved and answered.
// A non-nil error means the group could not be loaded or saved; fn's
// results are then not to be used.
func (gc *groupCoordinator) call(ctx context.Context, id string, fn func(a *groupActor) error) error {
	a := gc.acquire(id)
	if a == nil {
		return fmt.Errorf("group %s: coordinator stopped: %w", id, group.ErrNotCoordinator)
	}
	m := actorCall{fn: fn, done: make(chan error, 1)}
	select {
	case a.inbox <- m:
		gc.release(a)
	case <-ctx.Done():
		gc.release(a)
		return fmt.Errorf("waiting for group %s: %w", id, group.ErrNotCoordinator)
	case <-gc.stopped.Done():
		gc.release(a)
		return fmt.Errorf("group %s: coordinator stopped: %w", id, group.ErrNotCoordinator)
	}
	return <-m.done
}

// acquire returns the group's actor, starting it if needed, and keeps it
// from retiring until release; nil once the coordinator stopped.
func (gc *groupCoordinator) acquire(id string) *groupActor {
	gc.mu.Lock()
	defer gc.mu.Unlock()
	if gc.stopped.Err() != nil {
		return nil
	}
	a := gc.actors[id]
	if a == nil {
		a = &groupActor{gc: gc, id: id, inbox: make(chan actorCall)}
		gc.actors[id] = a
		gc.wg.Add(1)
		go a.run()
	}
	a.refs++
	return a
}

func (gc *groupCoordinator) release(a *groupActor) {
	gc.mu.Lock()
	a.refs--
	gc.mu.Unlock()
}

// retire removes an idle actor unless a caller is about to use it (or,
// with force, in any case: callers see the coordinator stopped).
func (gc *groupCoordinator) retire(a *groupActor, force bool) bool {
	gc.mu.Lock()
	defer gc.mu.Unlock()
	if a.refs > 0 && !force {
		return false
	}
	delete(gc.actors, a.id)
	return true
}

// live lists the ids of the groups with an actor.
func (gc *groupCoordinator) live() map[string]bool {
	gc.mu.Lock()
	defer gc.mu.Unlock()
	ids := make(map[string]bool, len(gc.actors))
	for id := range gc.actors {
		ids[id] = true
	}
	return ids
}

// notCoordinator reports whether err means the group moved to another
// coordinator; the actor then forgets it.
func notCoordinator(err error) bool {
	return errors.Is(err, metadata.ErrGroupFenced) || errors.Is(err, group.ErrNotCoordinator)
}
