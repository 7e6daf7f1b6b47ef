package agent_test

import (
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/agent/agenttest"
)

// franz-go's TestConsumeRegex expects what Kafka does: once a group has a
// coordinator, Metadata lists __consumer_offsets as internal, so a regex
// subscription skips it.
func TestOffsetsTopicIsInternal(t *testing.T) {
	a := agenttest.Start(t)
	ctx := testCtx(t)
	cl := client(t, a)
	listed := func() (kmsg.MetadataResponseTopic, bool) {
		t.Helper()
		req := kmsg.NewPtrMetadataRequest() // null topics: all of them
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		for _, rt := range resp.Topics {
			if rt.Topic != nil && *rt.Topic == "__consumer_offsets" {
				return rt, true
			}
		}
		return kmsg.MetadataResponseTopic{}, false
	}
	if _, ok := listed(); ok {
		t.Fatal("__consumer_offsets listed before any group had a coordinator")
	}

	find := kmsg.NewPtrFindCoordinatorRequest()
	find.CoordinatorKey = "g"
	fresp, err := find.RequestWith(ctx, cl)
	if err != nil || fresp.ErrorCode != 0 {
		t.Fatalf("FindCoordinator: %v %v", err, kerr.ErrorForCode(fresp.ErrorCode))
	}
	rt, ok := listed()
	if !ok {
		t.Fatal("__consumer_offsets not listed after FindCoordinator")
	}
	if !rt.IsInternal || rt.ErrorCode != 0 || len(rt.Partitions) != 50 {
		t.Fatalf("__consumer_offsets: internal %v, error %v, %d partitions; want internal, no error, 50",
			rt.IsInternal, kerr.ErrorForCode(rt.ErrorCode), len(rt.Partitions))
	}

	// Nothing but the coordinator writes to it in Kafka; Sluice never does.
	err = cl.ProduceSync(ctx, &kgo.Record{Topic: "__consumer_offsets", Value: []byte("x")}).FirstErr()
	if !errors.Is(err, kerr.InvalidTopicException) {
		t.Fatalf("produce to __consumer_offsets: %v, want INVALID_TOPIC_EXCEPTION", err)
	}
}

// Asking for __consumer_offsets by name before any group creates it as the
// internal topic, not as an ordinary auto-created one.
func TestOffsetsTopicAutoCreatedInternal(t *testing.T) {
	a := agenttest.Start(t)
	ctx := testCtx(t)
	cl := client(t, a)
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr("__consumer_offsets")
	req.Topics = append(req.Topics, rt)
	req.AllowAutoTopicCreation = true
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	got := resp.Topics[0]
	if got.ErrorCode != 0 || !got.IsInternal || len(got.Partitions) != 50 {
		t.Fatalf("__consumer_offsets: internal %v, error %v, %d partitions; want internal, no error, 50",
			got.IsInternal, kerr.ErrorForCode(got.ErrorCode), len(got.Partitions))
	}
}
