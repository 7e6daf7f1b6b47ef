package agent

import (
	"testing"

	"github.com/sluicehq/sluice/metadata"
)

func TestSizeHint(t *testing.T) {
	es := []metadata.IndexEntry{
		{BaseOffset: 0, LastOffset: 9, Len: 400},
		{BaseOffset: 10, LastOffset: 19, Len: 400},
		{BaseOffset: 20, LastOffset: 29, Len: 400},
	}
	for _, c := range []struct {
		hw          int64
		limit, want int
	}{
		{30, 1000, 1000}, // the limit, reached in the third entry
		{30, 2000, 1200}, // every entry
		{20, 2000, 800},  // up to the high watermark
		{30, 0, 0},
		{30, 1 << 30, 1200},
	} {
		if got := sizeHint(es, c.hw, c.limit); got != c.want {
			t.Errorf("sizeHint(hw %d, limit %d) = %d, want %d", c.hw, c.limit, got, c.want)
		}
	}
}
