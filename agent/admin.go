// What the admin APIs (topics, partitions, configs) share: errors that
// carry a message to the client, and lookups that bypass the topic cache.

package agent

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/metadata"
)

// codeError is a Kafka error with a message for the client. errCode finds
// its code through Unwrap; errorMessage puts msg in the response, so admin
// tools print why, not just the code.
type codeError struct {
	code *kerr.Error
	msg  string
}

func (e *codeError) Error() string { return e.msg }
func (e *codeError) Unwrap() error { return e.code }

// codeErrorf returns a codeError with a formatted message.
func codeErrorf(code *kerr.Error, format string, args ...any) error {
	return &codeError{code: code, msg: fmt.Sprintf(format, args...)}
}

// errorMessage is the ErrorMessage of a response entry: nil for success or
// a bare Kafka code (its name says it all), else the error's text.
func errorMessage(err error) *string {
	if err == nil {
		return nil
	}
	var ke *kerr.Error
	if errors.As(err, &ke) && err.Error() == ke.Error() {
		return nil
	}
	msg := err.Error()
	return &msg
}

// duplicates returns the names that occur more than once. Kafka refuses
// every occurrence of such a name with INVALID_REQUEST and acts on none.
func duplicates[T any](items []T, name func(T) string) map[string]bool {
	seen := make(map[string]bool, len(items))
	dups := make(map[string]bool)
	for _, it := range items {
		n := name(it)
		if seen[n] {
			dups[n] = true
		}
		seen[n] = true
	}
	return dups
}

// checkBrokerResource checks a config resource naming a broker: empty
// means the broker answering, else it must be this agent's node id, as
// Kafka requires. Every agent of a fleet has the same broker configs.
func (srv *Server) checkBrokerResource(name string) error {
	if name == "" {
		return nil
	}
	id, err := strconv.ParseInt(name, 10, 32)
	if err != nil || int32(id) != srv.self.nodeID {
		return codeErrorf(kerr.InvalidRequest, "Unexpected broker id, expected %d or empty string, but received %s", srv.self.nodeID, name)
	}
	return nil
}

// registeredTopic reads a topic from the registry, not the cache, so that an
// alter is seen by the describe that follows it on any agent.
func (srv *Server) registeredTopic(ctx context.Context, name string) (metadata.Topic, error) {
	if err := validateTopicName(name); err != nil {
		return metadata.Topic{}, codeErrorf(kerr.InvalidTopicException, "%v", err)
	}
	t, err := srv.deps.Store.Topic(ctx, name)
	switch {
	case errors.Is(err, metadata.ErrUnknownTopic):
		return t, codeErrorf(kerr.UnknownTopicOrPartition, "Topic '%s' does not exist.", name)
	case err != nil:
		return t, fmt.Errorf("reading topic %s: %w", name, err)
	}
	return t, nil
}

// resourceKey names a config resource, to find one named twice.
func resourceKey(typ kmsg.ConfigResourceType, name string) string {
	return fmt.Sprintf("%d/%s", typ, name)
}

// errDuplicateResource answers every copy of a config resource named more
// than once in an alter request; none of them is applied.
var errDuplicateResource = codeErrorf(kerr.InvalidRequest, "Each resource must appear at most once.")

// errStaticBrokerConfigs refuses changes to broker configs: agents take
// them from flags, the same on every agent of a fleet.
var errStaticBrokerConfigs = codeErrorf(kerr.InvalidRequest, "Broker configs are set by agent flags and cannot be altered.")
