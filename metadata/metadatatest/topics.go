package metadatatest

import (
	"errors"
	"reflect"
	"testing"

	"github.com/sluicehq/sluice/metadata"
)

func testTopicsEmpty(t *testing.T, h harness) {
	s := h.newStore(t)
	ts, err := s.Topics(t.Context())
	if err != nil {
		t.Fatalf("Topics: %v", err)
	}
	if len(ts) != 0 {
		t.Fatalf("Topics of an empty store = %+v, want none", ts)
	}
}

func testCreateTopic(t *testing.T, h harness) {
	s := h.newStore(t)
	want := []metadata.Topic{
		{Name: "a", ID: newID(), Partitions: 1},
		{Name: "b.with-odd_chars:{x}", ID: newID(), Partitions: 7, Configs: map[string]string{"cleanup.policy": "delete", "retention.ms": "1000"}},
		{Name: "c", ID: newID(), Partitions: 3, Configs: map[string]string{"empty": ""}},
	}
	for _, i := range []int{2, 0, 1} { // Topics must sort, whatever the creation order
		if err := s.CreateTopic(t.Context(), want[i]); err != nil {
			t.Fatalf("CreateTopic(%s): %v", want[i].Name, err)
		}
	}
	for _, w := range want {
		if got := getTopic(t, s, w.Name); !sameTopic(got, w) {
			t.Errorf("Topic(%s) = %+v, want %+v", w.Name, got, w)
		}
	}
	got, err := s.Topics(t.Context())
	if err != nil {
		t.Fatalf("Topics: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("Topics = %+v, want %+v", got, want)
	}
	for i := range want {
		if !sameTopic(got[i], want[i]) {
			t.Errorf("Topics[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	// The returned configs are the caller's: changing them changes nothing stored.
	getTopic(t, s, "c").Configs["empty"] = "changed"
	if got := getTopic(t, s, "c"); !sameTopic(got, want[2]) {
		t.Errorf("after changing a returned config map, Topic(c) = %+v", got)
	}
}

func testCreateTopicZeroID(t *testing.T, h harness) {
	s := h.newStore(t)
	for _, name := range []string{"x", "y"} {
		if err := s.CreateTopic(t.Context(), metadata.Topic{Name: name, Partitions: 1}); err != nil {
			t.Fatalf("CreateTopic(%s): %v", name, err)
		}
	}
	x, y := getTopic(t, s, "x"), getTopic(t, s, "y")
	if x.ID == (metadata.TopicID{}) || x.ID == y.ID {
		t.Fatalf("topics created without an ID got IDs %v and %v, want distinct non-zero IDs", x.ID, y.ID)
	}
}

func testCreateTopicExists(t *testing.T, h harness) {
	s := h.newStore(t)
	first := createTopic(t, s, "t", 2)
	err := s.CreateTopic(t.Context(), metadata.Topic{Name: "t", ID: newID(), Partitions: 5,
		Configs: map[string]string{"k": "v"}})
	if !errors.Is(err, metadata.ErrTopicExists) {
		t.Fatalf("CreateTopic of a taken name: err = %v, want ErrTopicExists", err)
	}
	if got := getTopic(t, s, "t"); !sameTopic(got, first) {
		t.Fatalf("a refused CreateTopic changed the topic to %+v, want %+v", got, first)
	}
}

func testUnknownTopic(t *testing.T, h harness) {
	s := h.newStore(t)
	createTopic(t, s, "known", 1)
	ctx := t.Context()
	v := "1"
	_, errTopic := s.Topic(ctx, "unknown")
	for name, err := range map[string]error{
		"Topic":         errTopic,
		"DeleteTopic":   s.DeleteTopic(ctx, "unknown"),
		"AddPartitions": s.AddPartitions(ctx, "unknown", 3),
		"AlterConfigs":  s.AlterConfigs(ctx, "unknown", map[string]*string{"k": &v}, false),
	} {
		if !errors.Is(err, metadata.ErrUnknownTopic) {
			t.Errorf("%s of an unknown topic: err = %v, want ErrUnknownTopic", name, err)
		}
	}
}

func testDeleteAndRecreate(t *testing.T, h harness) {
	s := h.newStore(t)
	old := createTopic(t, s, "t", 2)
	createTopic(t, s, "other", 1)
	newCommit("o1").add(part(old, 0), 3, 10).add(part(old, 1), 2, 10).commit(t, s)
	if err := s.DeleteTopic(t.Context(), "t"); err != nil {
		t.Fatalf("DeleteTopic: %v", err)
	}
	if _, err := s.Topic(t.Context(), "t"); !errors.Is(err, metadata.ErrUnknownTopic) {
		t.Fatalf("Topic after DeleteTopic: err = %v, want ErrUnknownTopic", err)
	}
	if ts, err := s.Topics(t.Context()); err != nil || len(ts) != 1 || ts[0].Name != "other" {
		t.Fatalf("Topics after DeleteTopic = %+v, %v; want only other", ts, err)
	}
	if err := s.DeleteTopic(t.Context(), "t"); !errors.Is(err, metadata.ErrUnknownTopic) {
		t.Fatalf("second DeleteTopic: err = %v, want ErrUnknownTopic", err)
	}
	// Commits for the deleted incarnation are refused batch by batch.
	rs := newCommit("o2").add(part(old, 0), 1, 10).commit(t, s)
	wantResult(t, rs, 0, 0, false, metadata.ErrUnknownTopic)

	// The new incarnation starts from offset 0 with an empty index.
	fresh := createTopic(t, s, "t", 2)
	wantHighWatermark(t, s, part(fresh, 0), 0)
	wantIndex(t, s, part(fresh, 0), 0, 10)
	b := newCommit("o3").add(part(fresh, 0), 4, 10)
	rs = b.commit(t, s)
	wantResult(t, rs, 0, 0, false, nil)
	wantIndex(t, s, part(fresh, 0), 0, 10, b.entry(0, 0, 0))
}

func testAddPartitions(t *testing.T, h harness) {
	s := h.newStore(t)
	tp := createTopic(t, s, "t", 3)
	newCommit("o1").add(part(tp, 0), 2, 1).commit(t, s)
	rs := newCommit("o2").add(part(tp, 4), 1, 1).commit(t, s)
	wantResult(t, rs, 0, 0, false, metadata.ErrUnknownTopic)

	if err := s.AddPartitions(t.Context(), "t", 5); err != nil {
		t.Fatalf("AddPartitions(5): %v", err)
	}
	if got := getTopic(t, s, "t"); got.Partitions != 5 || got.ID != tp.ID {
		t.Fatalf("after AddPartitions(5), Topic = %+v", got)
	}
	for _, n := range []int32{5, 4, 0} {
		if err := s.AddPartitions(t.Context(), "t", n); !errors.Is(err, metadata.ErrInvalidPartitions) {
			t.Errorf("AddPartitions(%d) with 5 partitions: err = %v, want ErrInvalidPartitions", n, err)
		}
	}
	rs = newCommit("o3").add(part(tp, 4), 1, 1).add(part(tp, 5), 1, 1).commit(t, s)
	wantResult(t, rs, 0, 0, false, nil)
	wantResult(t, rs, 1, 0, false, metadata.ErrUnknownTopic)
	wantHighWatermark(t, s, part(tp, 0), 2) // existing partitions keep their offsets
}

func testAlterConfigs(t *testing.T, h harness) {
	s := h.newStore(t)
	tp := metadata.Topic{Name: "t", ID: newID(), Partitions: 1, Configs: map[string]string{"a": "1", "b": "2"}}
	if err := s.CreateTopic(t.Context(), tp); err != nil {
		t.Fatalf("CreateTopic: %v", err)
	}
	str := func(v string) *string { return &v }
	steps := []struct {
		set     map[string]*string
		replace bool
		want    map[string]string
	}{
		{map[string]*string{"c": str("3"), "a": nil, "missing": nil}, false, map[string]string{"b": "2", "c": "3"}},
		{map[string]*string{"b": str("20")}, false, map[string]string{"b": "20", "c": "3"}},
		{map[string]*string{"d": str("4"), "b": nil}, true, map[string]string{"d": "4"}},
		{map[string]*string{}, true, map[string]string{}},
		{map[string]*string{"e": str("")}, false, map[string]string{"e": ""}},
	}
	for i, st := range steps {
		if err := s.AlterConfigs(t.Context(), "t", st.set, st.replace); err != nil {
			t.Fatalf("step %d: AlterConfigs: %v", i, err)
		}
		got := getTopic(t, s, "t")
		if len(got.Configs) != len(st.want) || (len(st.want) > 0 && !reflect.DeepEqual(got.Configs, st.want)) {
			t.Errorf("step %d: configs = %v, want %v", i, got.Configs, st.want)
		}
		if got.ID != tp.ID || got.Partitions != 1 {
			t.Errorf("step %d: AlterConfigs changed the topic to %+v", i, got)
		}
	}
}
