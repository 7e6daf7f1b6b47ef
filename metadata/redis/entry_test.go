package redis

import (
	"strings"
	"testing"

	"github.com/sluicehq/sluice/metadata"
)

func TestParseNotification(t *testing.T) {
	id := metadata.TopicID{0xab, 15: 1}
	payload := "p " + id.String() + ":3 12\ne 7,11,-1,0,500,objects/a,b\ne 12,11,5,500,10,x"
	_, err := parseNotification(payload)
	if err == nil {
		t.Fatal("an entry with last < base was accepted")
	}
	payload = "p " + id.String() + ":3 12\ne 7,9,-1,0,500,objects/a,b\ne 10,11,1700000000000,500,10,x"
	as, err := parseNotification(payload)
	if err != nil {
		t.Fatal(err)
	}
	want := metadata.Appended{Partition: metadata.Partition{Topic: id, Index: 3}, HighWatermark: 12,
		Entries: []metadata.IndexEntry{
			{BaseOffset: 7, LastOffset: 9, MaxTimestamp: -1, Pos: 0, Len: 500, Object: "objects/a,b"},
			{BaseOffset: 10, LastOffset: 11, MaxTimestamp: 1700000000000, Pos: 500, Len: 10, Object: "x"},
		}}
	if len(as) != 1 || as[0].HighWatermark != want.HighWatermark || len(as[0].Entries) != 2 ||
		as[0].Entries[0] != want.Entries[0] || as[0].Entries[1] != want.Entries[1] || as[0].Partition != want.Partition {
		t.Fatalf("parsed %+v, want %+v", as, want)
	}
}

func FuzzParseNotification(f *testing.F) {
	id := metadata.TopicID{1}.String()
	valid := "p " + id + ":0 5\ne 0,4,9,0,100,obj"
	for _, s := range []string{"", "p", "e 0,1,2,3,4,o", valid, valid[:len(valid)-5], valid + "\ngarbage",
		valid + "\np " + id + ":1 2\ne 0,1,2,3,4,o,with,commas", strings.Repeat("e ", 1000)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		as, err := parseNotification(payload)
		if err != nil {
			return
		}
		if len(as) == 0 {
			t.Fatal("no error and no partitions")
		}
		for _, a := range as {
			for _, e := range a.Entries {
				if e.LastOffset < e.BaseOffset || e.Pos < 0 || e.Len < 0 || e.Object == "" || strings.Contains(e.Object, "\n") {
					t.Fatalf("parsed an impossible entry %+v from %q", e, payload)
				}
			}
		}
	})
}
