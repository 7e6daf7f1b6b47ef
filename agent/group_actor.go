package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/metadata"
	"github.com/sluicehq/sluice/metadata/group"
)

// groupOwnershipCheck is how often a loaded group checks that this agent
// still coordinates it.
const groupOwnershipCheck = time.Second

// groupActor is the one goroutine that owns a group's state machine. It
// runs the closures handlers send it, one at a time, and the group's
// timers; after each it saves what changed and then delivers the answers.
type groupActor struct {
	gc    *groupCoordinator
	id    string
	inbox chan actorCall // unbuffered: a sent call is being run
	refs  int            // callers between acquire and release; gc.mu

	// Owned by the run goroutine.
	g *group.Group // nil until loaded, and again after the group is lost
}

// actorCall is one closure for the actor and where its outcome goes.
type actorCall struct {
	fn   func(a *groupActor) error
	done chan error // buffered: the actor never waits on it
}

// run serves calls and the group's deadlines until the group has been
// idle (or unloaded) for the linger time and nobody is about to call.
func (a *groupActor) run() {
	defer a.gc.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	lastActive := time.Now()
	for {
		idle := a.g == nil || a.g.Idle()
		next := lastActive.Add(a.gc.linger)
		switch {
		case a.g == nil:
			next = lastActive
		case !idle:
			next = a.g.NextDeadline()
		}
		if check := time.Now().Add(groupOwnershipCheck); a.g != nil && a.gc.srv != nil && (next.IsZero() || check.Before(next)) {
			next = check
		}
		var wake <-chan time.Time
		if !next.IsZero() {
			timer.Reset(time.Until(next))
			wake = timer.C
		}
		select {
		case m := <-a.inbox:
			m.done <- a.serve(m.fn)
			lastActive = time.Now()
		case <-wake:
			now := time.Now()
			switch {
			case a.g != nil && a.gc.srv != nil && !a.gc.coordinates(a.id):
				// The fleet changed and another agent coordinates the
				// group: forget it, so that if it comes back here it is
				// loaded again rather than served from stale memory.
				a.gc.log.Info("group moved to another coordinator", "group", a.id)
				a.g.Abort(group.ErrNotCoordinator)
				a.g = nil
			case !idle:
				a.g.Tick(now)
				_ = a.settle() // a failure was logged and answered
			case a.g != nil && now.Before(lastActive.Add(a.gc.linger)):
			case a.gc.retire(a, false):
				return
			default:
				lastActive = now // a caller is on its way
			}
		case <-a.gc.stopped.Done():
			if a.g != nil {
				a.g.Abort(group.ErrNotCoordinator)
			}
			a.gc.retire(a, true)
			return
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// serve runs one call on the loaded group.
func (a *groupActor) serve(fn func(a *groupActor) error) error {
	if a.g == nil {
		if err := a.load(); err != nil {
			return err
		}
	}
	err := fn(a)
	if notCoordinator(err) {
		a.lose(err)
		return fmt.Errorf("group %s: %w", a.id, group.ErrNotCoordinator)
	}
	if serr := a.settle(); serr != nil {
		return serr
	}
	return err
}

// settle saves the group if it needs it, then delivers its answers. A
// failed save answers everything waiting with an error and forgets the
// group, which the next call loads again.
func (a *groupActor) settle() error {
	if a.g == nil {
		return nil
	}
	if a.g.NeedsSave() {
		ctx, cancel := context.WithTimeout(context.Background(), groupStoreTimeout)
		err := a.gc.store.SaveGroup(ctx, a.g.Snapshot(), a.g.SavedGeneration())
		cancel()
		if err != nil {
			a.lose(err)
			if notCoordinator(err) {
				return fmt.Errorf("saving group %s: %w", a.id, group.ErrNotCoordinator)
			}
			return fmt.Errorf("saving group %s: %w: %w", a.id, group.ErrCoordinatorUnavailable, err)
		}
		a.g.Saved()
	}
	a.g.Flush()
	return nil
}

// lose forgets the group after err, answering everyone waiting.
func (a *groupActor) lose(err error) {
	if notCoordinator(err) {
		a.gc.log.Info("group moved to another coordinator", "group", a.id, "err", err)
		a.g.Abort(group.ErrNotCoordinator)
	} else {
		a.gc.log.Warn("group store unavailable", "group", a.id, "err", err)
		a.g.Abort(group.ErrCoordinatorUnavailable)
	}
	a.g = nil
}

// load reads the group from the store, expiring what offsets.retention
// has expired if it has no members.
func (a *groupActor) load() error {
	ctx, cancel := context.WithTimeout(context.Background(), groupStoreTimeout)
	defer cancel()
	now := time.Now()
	s, err := a.gc.store.LoadGroup(ctx, a.id)
	switch {
	case errors.Is(err, metadata.ErrUnknownGroup):
		a.g = group.New(a.id, a.gc.cfg)
	case err != nil:
		return fmt.Errorf("loading group %s: %w: %w", a.id, group.ErrCoordinatorUnavailable, err)
	default:
		a.g = group.Restore(s, a.gc.cfg, now)
	}
	if a.g.State() != group.Empty {
		return nil
	}
	if err := a.expire(ctx, now); err != nil {
		a.g = nil
		return fmt.Errorf("expiring offsets of group %s: %w: %w", a.id, group.ErrCoordinatorUnavailable, err)
	}
	return nil
}

// expire deletes the expired offsets of the group, which has no members,
// and the group itself once nothing of it is left to keep.
func (a *groupActor) expire(ctx context.Context, now time.Time) error {
	offsets, err := a.gc.store.FetchOffsets(ctx, a.id, nil)
	if err != nil {
		return err
	}
	old := group.Expired(now, a.gc.retention, a.g.EmptySince(), offsets)
	if len(old) > 0 {
		if err := a.gc.store.DeleteOffsets(ctx, a.id, old); err != nil {
			return err
		}
		a.gc.log.Info("expired committed offsets", "group", a.id, "partitions", len(old))
	}
	if len(old) < len(offsets) || !a.g.Stored() || !group.GroupExpired(now, a.gc.retention, a.g.EmptySince()) {
		return nil
	}
	err = a.gc.store.DeleteGroup(ctx, a.id)
	switch {
	case err == nil, errors.Is(err, metadata.ErrUnknownGroup):
		a.gc.log.Info("expired empty group", "group", a.id)
		a.g = group.New(a.id, a.gc.cfg)
		return nil
	case errors.Is(err, metadata.ErrGroupNotEmpty):
		// Another coordinator gave it members since we loaded it.
		return fmt.Errorf("group %s: %w", a.id, group.ErrNotCoordinator)
	}
	return err
}

// storeCtx bounds one store call made by a closure on the actor.
func storeCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), groupStoreTimeout)
}
