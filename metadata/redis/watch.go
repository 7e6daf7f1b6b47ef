package redis

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sluicehq/sluice/metadata"
)

// Backoff between subscriptions, so that a Redis that is down is not
// dialled in a loop.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// Watch calls fn for every commit, from commitScript's notifications, until
// ctx is done. fn(nil) is called each time a subscription is established,
// the first included, and when one is lost: whatever was published between
// two subscriptions is missed, so the caller must drop what it cached.
func (s *Store) Watch(ctx context.Context, fn func([]metadata.Appended)) error {
	backoff := minBackoff
	for {
		established := s.subscribe(ctx, fn)
		if ctx.Err() != nil {
			return nil
		}
		fn(nil)
		if established {
			backoff = minBackoff
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// subscribe runs one subscription until it fails or ctx is done, and
// reports whether it was ever established.
func (s *Store) subscribe(ctx context.Context, fn func([]metadata.Appended)) (established bool) {
	ps := s.client.Subscribe(ctx, commitsChannel())
	defer ps.Close()
	// A blocked read does not watch ctx; closing the connection ends it.
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() })
	defer stop()
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, s.pingEvery)
		if isTimeout(err) && !pinged {
			// Quiet, or a dead connection that TCP has not noticed: a PING
			// tells which, as its PONG must come within the next wait.
			pinged = true
			if ps.Ping(ctx) == nil {
				continue
			}
		}
		if err != nil {
			return established
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			established = true
			fn(nil)
		case *redis.Message:
			as, err := parseNotification(m.Payload)
			if err != nil {
				return established // cannot tell what it said; start afresh
			}
			s.observe(notificationCount(m.Payload))
			fn(as)
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
