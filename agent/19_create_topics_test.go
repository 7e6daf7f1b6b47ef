package agent

import (
	"context"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/metadata"
)

func createTopicsReq(validateOnly bool, topics ...kmsg.CreateTopicsRequestTopic) *kmsg.CreateTopicsRequest {
	req := kmsg.NewPtrCreateTopicsRequest()
	req.ValidateOnly = validateOnly
	req.Topics = topics
	return req
}

func newCreateTopic(name string, partitions int32, rf int16, configs ...string) kmsg.CreateTopicsRequestTopic {
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, partitions, rf
	for i := 0; i+1 < len(configs); i += 2 {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = configs[i], kmsg.StringPtr(configs[i+1])
		rt.Configs = append(rt.Configs, c)
	}
	return rt
}

func TestCreateTopicsCreates(t *testing.T) {
	srv := adminServer(t, nil)
	resp := callAPI[*kmsg.CreateTopicsResponse](t, srv, createTopicsReq(false,
		newCreateTopic("orders", 4, 3, "retention.ms", "1000"),
		newCreateTopic("defaults", -1, -1),
	), 7)
	if len(resp.Topics) != 2 {
		t.Fatalf("got %d topics, want 2", len(resp.Topics))
	}
	for _, st := range resp.Topics {
		wantErrCode(t, st.Topic, st.ErrorCode, nil)
		got := mustGetTopic(t, srv, st.Topic)
		if st.TopicID != got.ID || got.ID == (metadata.TopicID{}) {
			t.Errorf("%s: response id %x, stored %x", st.Topic, st.TopicID, got.ID)
		}
		if st.NumPartitions != got.Partitions {
			t.Errorf("%s: response says %d partitions, stored %d", st.Topic, st.NumPartitions, got.Partitions)
		}
		if st.ReplicationFactor != 1 {
			t.Errorf("%s: replication factor %d, want 1 (one agent)", st.Topic, st.ReplicationFactor)
		}
	}
	if p := mustGetTopic(t, srv, "defaults").Partitions; p != 3 {
		t.Errorf("NumPartitions -1 gave %d partitions, want the default 3", p)
	}
	orders := mustGetTopic(t, srv, "orders")
	if orders.Partitions != 4 || orders.Configs["retention.ms"] != "1000" || len(orders.Configs) != 1 {
		t.Errorf("stored %+v", orders)
	}
	sources := make(map[string]int8)
	for _, c := range resp.Topics[0].Configs {
		sources[c.Name] = c.Source
	}
	if sources["retention.ms"] != int8(kmsg.ConfigSourceDynamicTopicConfig) || sources["cleanup.policy"] != int8(kmsg.ConfigSourceDefaultConfig) {
		t.Errorf("v5+ configs in response: sources %v", sources)
	}
}

func TestCreateTopicsRefuses(t *testing.T) {
	long := strings.Repeat("a", 250)
	assigned := newCreateTopic("assigned", -1, -1)
	assigned.ReplicaAssignment = []kmsg.CreateTopicsRequestTopicReplicaAssignment{{Partition: 0, Replicas: []int32{1}}}
	nullConfig := newCreateTopic("nullconfig", 1, 1)
	nullConfig.Configs = []kmsg.CreateTopicsRequestTopicConfig{{Name: "retention.ms"}}
	for _, tc := range []struct {
		topic kmsg.CreateTopicsRequestTopic
		want  *kerr.Error
	}{
		{newCreateTopic("", 1, 1), kerr.InvalidTopicException},
		{newCreateTopic(".", 1, 1), kerr.InvalidTopicException},
		{newCreateTopic("..", 1, 1), kerr.InvalidTopicException},
		{newCreateTopic("has space", 1, 1), kerr.InvalidTopicException},
		{newCreateTopic("ünï", 1, 1), kerr.InvalidTopicException},
		{newCreateTopic(long, 1, 1), kerr.InvalidTopicException},
		{newCreateTopic("zero", 0, 1), kerr.InvalidPartitions},
		{newCreateTopic("minus2", -2, 1), kerr.InvalidPartitions},
		{newCreateTopic("rf0", 1, 0), kerr.InvalidReplicationFactor},
		{newCreateTopic("rfminus2", 1, -2), kerr.InvalidReplicationFactor},
		{assigned, kerr.InvalidRequest},
		{newCreateTopic("unknownkey", 1, 1, "retention.mss", "1"), kerr.InvalidConfig},
		{newCreateTopic("badvalue", 1, 1, "retention.ms", "-2"), kerr.InvalidConfig},
		{newCreateTopic("badpolicy", 1, 1, "cleanup.policy", "delete,shred"), kerr.InvalidConfig},
		{nullConfig, kerr.InvalidConfig},
	} {
		srv := adminServer(t, nil)
		resp := callAPI[*kmsg.CreateTopicsResponse](t, srv, createTopicsReq(false, tc.topic), 7)
		st := resp.Topics[0]
		wantErrCode(t, tc.topic.Topic, st.ErrorCode, tc.want)
		if st.ErrorMessage == nil || *st.ErrorMessage == "" {
			t.Errorf("%s: no error message", tc.topic.Topic)
		}
		if ts, _ := srv.deps.Store.Topics(context.Background()); len(ts) != 0 {
			t.Errorf("%s: created %v", tc.topic.Topic, ts)
		}
	}
	srv := adminServer(t, nil)
	resp := callAPI[*kmsg.CreateTopicsResponse](t, srv, createTopicsReq(false, newCreateTopic(long[:249], 1, 1)), 7)
	wantErrCode(t, "249 characters", resp.Topics[0].ErrorCode, nil)
}

func TestCreateTopicsDuplicateNameRefusedOnce(t *testing.T) {
	srv := adminServer(t, nil)
	resp := callAPI[*kmsg.CreateTopicsResponse](t, srv, createTopicsReq(false,
		newCreateTopic("twice", 1, 1), newCreateTopic("once", 1, 1), newCreateTopic("twice", 2, 1),
	), 4)
	if len(resp.Topics) != 2 {
		t.Fatalf("got %d answers, want 2: %+v", len(resp.Topics), resp.Topics)
	}
	wantErrCode(t, "twice", resp.Topics[0].ErrorCode, kerr.InvalidRequest)
	wantErrCode(t, "once", resp.Topics[1].ErrorCode, nil)
	if _, err := srv.deps.Store.Topic(context.Background(), "twice"); err == nil {
		t.Error("a duplicated name was created")
	}
}

func TestCreateTopicsExistingAndCollisions(t *testing.T) {
	srv := adminServer(t, nil)
	mustCreateTopic(t, srv, "a.b", 1, nil)
	resp := callAPI[*kmsg.CreateTopicsResponse](t, srv, createTopicsReq(false,
		newCreateTopic("a.b", 1, 1), newCreateTopic("a_b", 1, 1), newCreateTopic("c_d", 1, 1), newCreateTopic("c.d", 1, 1),
	), 7)
	wantErrCode(t, "a.b", resp.Topics[0].ErrorCode, kerr.TopicAlreadyExists)
	wantErrCode(t, "a_b", resp.Topics[1].ErrorCode, kerr.InvalidTopicException)
	wantErrCode(t, "c_d", resp.Topics[2].ErrorCode, nil)
	wantErrCode(t, "c.d", resp.Topics[3].ErrorCode, kerr.InvalidTopicException)
}

func TestCreateTopicsValidateOnly(t *testing.T) {
	srv := adminServer(t, nil)
	mustCreateTopic(t, srv, "taken", 1, nil)
	resp := callAPI[*kmsg.CreateTopicsResponse](t, srv, createTopicsReq(true,
		newCreateTopic("fresh", 2, 1, "cleanup.policy", "compact"), newCreateTopic("taken", 1, 1),
	), 7)
	wantErrCode(t, "fresh", resp.Topics[0].ErrorCode, nil)
	wantErrCode(t, "taken", resp.Topics[1].ErrorCode, kerr.TopicAlreadyExists)
	if resp.Topics[0].TopicID != [16]byte{} || resp.Topics[0].NumPartitions != 2 {
		t.Errorf("validate-only answer %+v", resp.Topics[0])
	}
	if _, err := srv.deps.Store.Topic(context.Background(), "fresh"); err == nil {
		t.Error("validate-only created the topic")
	}
}

func TestCreateTopicsOldVersions(t *testing.T) {
	for v := int16(0); v <= 7; v++ {
		srv := adminServer(t, nil)
		resp := callAPI[*kmsg.CreateTopicsResponse](t, srv, createTopicsReq(false, newCreateTopic("t", 2, 1)), v)
		wantErrCode(t, "t", resp.Topics[0].ErrorCode, nil)
		if got := mustGetTopic(t, srv, "t").Partitions; got != 2 {
			t.Errorf("v%d: %d partitions", v, got)
		}
	}
}

func TestCreateTopicsStoreDown(t *testing.T) {
	srv := adminServer(t, brokenStore{})
	resp := callAPI[*kmsg.CreateTopicsResponse](t, srv, createTopicsReq(false, newCreateTopic("t", 1, 1), newCreateTopic("x.y", 1, 1)), 7)
	wantErrCode(t, "t", resp.Topics[0].ErrorCode, kerr.KafkaStorageError)
	wantErrCode(t, "x.y", resp.Topics[1].ErrorCode, kerr.KafkaStorageError)
}
