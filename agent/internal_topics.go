package agent

import (
	"context"
	"errors"
	"fmt"

	"github.com/sluicehq/sluice/metadata"
)

// offsetsTopic is the internal topic where Kafka keeps committed offsets and
// group state. Sluice keeps both in the metadata store instead, but clients
// expect the topic once a group has a coordinator: a regex subscription
// matching it must see that it is internal and skip it, and admin tools list
// it. So it exists as Kafka creates it, on the first FindCoordinator for a
// group (or when a client asks for it by name), and stays empty: Produce to
// it is refused and maintenance skips it.
const offsetsTopic = "__consumer_offsets"

// offsetsTopicPartitions is Kafka's default offsets.topic.num.partitions.
const offsetsTopicPartitions = 50

// isInternalTopic reports whether Metadata marks the topic internal.
func isInternalTopic(name string) bool { return name == offsetsTopic }

// ensureOffsetsTopic creates offsetsTopic unless it exists. Another agent may
// create it at the same moment; either way it then exists. The lookup is
// served from the topic cache, so a FindCoordinator costs no store read in
// steady state.
func (srv *Server) ensureOffsetsTopic(ctx context.Context) (metadata.Topic, error) {
	t, err := srv.topics.get(ctx, offsetsTopic)
	if !errors.Is(err, metadata.ErrUnknownTopic) {
		return t, err
	}
	// As Kafka's offsets.topic defaults: compacted, so retention never
	// touches it.
	t = newTopic(offsetsTopic, offsetsTopicPartitions, map[string]string{"cleanup.policy": "compact"})
	err = srv.deps.Store.CreateTopic(ctx, t)
	srv.topics.forget(offsetsTopic)
	if err != nil && !errors.Is(err, metadata.ErrTopicExists) {
		return metadata.Topic{}, fmt.Errorf("creating %s: %w", offsetsTopic, err)
	}
	if err == nil {
		srv.log.Info("created internal topic", "topic", offsetsTopic, "partitions", t.Partitions)
	}
	return srv.topics.get(ctx, offsetsTopic)
}
