package compaction_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/sluicehq/sluice/tiering/compaction"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// srcs makes consecutive sources of the given lengths, all an hour old;
// a negative length makes a fresh one of that size.
func srcs(lens ...int64) []compaction.Source {
	var out []compaction.Source
	var off int64
	for i, n := range lens {
		created := now.Add(-time.Hour)
		if n < 0 {
			n, created = -n, now
		}
		out = append(out, compaction.Source{Object: fmt.Sprintf("o%d", i), Len: n, BaseOffset: off, LastOffset: off + 9, Created: created})
		off += 10
	}
	return out
}

// planString renders a plan as [first-last] source positions.
func planString(plan [][]compaction.Source) string {
	s := ""
	for _, run := range plan {
		first := run[0].BaseOffset / 10
		s += fmt.Sprintf("[%d-%d]", first, first+int64(len(run))-1)
	}
	return s
}

func TestPlan(t *testing.T) {
	p := compaction.Policy{MinEntries: 4, MinAge: time.Minute, TargetBytes: 100}
	cases := []struct {
		name string
		lens []int64
		want string
	}{
		{"too few", []int64{1, 1, 1}, ""},
		{"enough", []int64{1, 1, 1, 1}, "[0-3]"},
		{"fresh ones wait", []int64{1, 1, 1, 1, -1, 1}, "[0-3]"},
		{"fresh one splits runs", []int64{1, 1, 1, -1, 1, 1, 1}, ""},
		{"target bytes cut chunks", []int64{30, 30, 30, 30, 10, 10, 10, 10, 10}, "[3-8]"},
		{"big entries stay", []int64{100, 1, 1, 1, 1, 200}, "[1-4]"},
		// A segment merges with newer sources only once they are as large.
		{"segment waits", []int64{16, 1, 1, 1, 1, 1}, "[1-5]"},
		{"segment doubles", []int64{4, 1, 1, 1, 1}, "[0-4]"},
		{"binary counter", []int64{32, 16, 8, 4, 2, 1, 1}, "[0-6]"},
		{"binary counter waits", []int64{32, 16, 8, 4, 2, 1}, ""},
		{"nothing", nil, ""},
	}
	for _, c := range cases {
		all := srcs(c.lens...)
		if got := planString(compaction.Plan(all, p, now)); got != c.want {
			t.Errorf("%s %v: Plan = %q, want %q", c.name, c.lens, got, c.want)
		}
	}
}

// A shared source past ReleaseAge is compacted even alone, so a quiet
// partition lets go of its ingest objects.
func TestPlanRelease(t *testing.T) {
	p := compaction.Policy{MinEntries: 4, MinAge: time.Minute, TargetBytes: 100, ReleaseAge: 10 * time.Minute}
	all := srcs(1, 1)
	if got := compaction.Plan(all, p, now); len(got) != 0 {
		t.Errorf("unshared sources released: %v", got)
	}
	all[1].Shared = true
	if got := planString(compaction.Plan(all, p, now)); got != "[0-1]" {
		t.Errorf("Plan = %q, want [0-1]", got)
	}
	all[1].Created = now.Add(-5 * time.Minute)
	if got := compaction.Plan(all, p, now); len(got) != 0 {
		t.Errorf("a shared source younger than ReleaseAge released: %v", got)
	}
}
