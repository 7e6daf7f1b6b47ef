package agent_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/agent/agenttest"
)

// adminClient is a kadm client of a fresh agent, and a context for its calls.
func adminClient(t *testing.T) (*kadm.Client, context.Context) {
	t.Helper()
	a := agenttest.Start(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(a.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return kadm.NewClient(cl), ctx
}

func topicConfig(t *testing.T, adm *kadm.Client, ctx context.Context, topic, key string) (string, bool) {
	t.Helper()
	rcs, err := adm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := rcs.On(topic, nil)
	if err != nil || rc.Err != nil {
		t.Fatalf("describing %s: %v %v", topic, err, rc.Err)
	}
	for _, c := range rc.Configs {
		if c.Key == key {
			return c.MaybeValue(), c.Source == kmsg.ConfigSourceDynamicTopicConfig
		}
	}
	t.Fatalf("%s: no config %s", topic, key)
	return "", false
}

func TestAdminTopicLifecycle(t *testing.T) {
	adm, ctx := adminClient(t)

	created, err := adm.CreateTopic(ctx, 2, 3, map[string]*string{"retention.ms": kadm.StringPtr("60000")}, "orders")
	if err != nil {
		t.Fatalf("creating: %v", err)
	}
	if created.ID == (kadm.TopicID{}) || created.NumPartitions != 2 {
		t.Errorf("created %+v", created)
	}
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "orders"); !errors.Is(err, kerr.TopicAlreadyExists) {
		t.Errorf("creating again: %v", err)
	}
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"retention.ms": kadm.StringPtr("soon")}, "bad"); !errors.Is(err, kerr.InvalidConfig) {
		t.Errorf("creating with a bad config: %v", err)
	}

	if v, set := topicConfig(t, adm, ctx, "orders", "retention.ms"); v != "60000" || !set {
		t.Errorf("retention.ms = %q (set %v)", v, set)
	}
	if v, set := topicConfig(t, adm, ctx, "orders", "cleanup.policy"); v != "delete" || set {
		t.Errorf("cleanup.policy = %q (set %v)", v, set)
	}

	// IncrementalAlterConfigs.
	rs, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{
		{Op: kadm.AppendConfig, Name: "cleanup.policy", Value: kadm.StringPtr("compact")},
		{Op: kadm.DeleteConfig, Name: "retention.ms"},
	}, "orders")
	if err != nil || rs[0].Err != nil {
		t.Fatalf("altering: %v %v", err, rs)
	}
	if v, _ := topicConfig(t, adm, ctx, "orders", "cleanup.policy"); v != "delete,compact" {
		t.Errorf("after append, cleanup.policy = %q", v)
	}
	if v, set := topicConfig(t, adm, ctx, "orders", "retention.ms"); v != "604800000" || set {
		t.Errorf("after delete, retention.ms = %q (set %v)", v, set)
	}

	// AlterConfigs replaces everything.
	rs, err = adm.AlterTopicConfigsState(ctx, []kadm.AlterConfig{{Name: "retention.bytes", Value: kadm.StringPtr("1024")}}, "orders")
	if err != nil || rs[0].Err != nil {
		t.Fatalf("replacing: %v %v", err, rs)
	}
	if v, set := topicConfig(t, adm, ctx, "orders", "cleanup.policy"); v != "delete" || set {
		t.Errorf("after replace, cleanup.policy = %q (set %v)", v, set)
	}

	// CreatePartitions.
	if _, err := adm.CreatePartitions(ctx, 3, "orders"); err != nil {
		t.Fatalf("adding partitions: %v", err)
	}
	tds, err := adm.ListTopics(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(tds["orders"].Partitions); n != 5 {
		t.Errorf("%d partitions after adding 3 to 2", n)
	}
	ups, err := adm.UpdatePartitions(ctx, 5, "orders")
	if err != nil || !errors.Is(ups["orders"].Err, kerr.InvalidPartitions) {
		t.Errorf("setting the count it has: %v %v", err, ups["orders"].Err)
	}

	// DeleteTopics.
	if _, err := adm.DeleteTopic(ctx, "orders"); err != nil {
		t.Fatalf("deleting: %v", err)
	}
	if _, err := adm.DeleteTopic(ctx, "orders"); !errors.Is(err, kerr.UnknownTopicOrPartition) {
		t.Errorf("deleting again: %v", err)
	}
	again, err := adm.CreateTopic(ctx, 1, -1, nil, "orders")
	if err != nil || again.ID == created.ID {
		t.Errorf("recreating: %v, id %v (was %v)", err, again.ID, created.ID)
	}
}

func TestAdminBrokerAndCluster(t *testing.T) {
	adm, ctx := adminClient(t)
	meta, err := adm.BrokerMetadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rcs, err := adm.DescribeBrokerConfigs(ctx, meta.Brokers[0].NodeID)
	if err != nil || len(rcs) != 1 || rcs[0].Err != nil || len(rcs[0].Configs) == 0 {
		t.Fatalf("describing broker configs: %v %+v", err, rcs)
	}
	rs, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Name: "log.retention.ms", Value: kadm.StringPtr("1")}}, meta.Brokers[0].NodeID)
	if err != nil || len(rs) != 1 || !errors.Is(rs[0].Err, kerr.InvalidRequest) {
		t.Errorf("altering broker configs: %v %+v", err, rs)
	}

	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "t"); err != nil {
		t.Fatal(err)
	}
	eps, err := adm.OffsetForLeaderEpoch(ctx, kadm.OffsetForLeaderEpochRequest{"t": {0: 0}})
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := eps["t"][0]; !ok || e.Err != nil || e.LeaderEpoch != 0 || e.EndOffset != 0 {
		t.Errorf("offset for epoch 0 of an empty partition: %+v", e)
	}
}
