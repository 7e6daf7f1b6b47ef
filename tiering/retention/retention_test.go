package retention_test

import (
	"testing"
	"time"

	"github.com/sluicehq/sluice/tiering/retention"
)

func TestLogStart(t *testing.T) {
	now := time.UnixMilli(1_000_000)
	es := []retention.Entry{
		{BaseOffset: 10, Len: 100, MaxTimestamp: 100_000},
		{BaseOffset: 20, Len: 100, MaxTimestamp: 900_000},
		{BaseOffset: 30, Len: 100, MaxTimestamp: 500_000}, // out of order, kept behind 20
		{BaseOffset: 40, Len: 100, MaxTimestamp: 990_000},
	}
	const hw = 50
	cases := []struct {
		name string
		p    retention.Policy
		es   []retention.Entry
		want int64
	}{
		{"for ever", retention.Policy{Age: -1, Bytes: -1}, es, 10},
		{"nothing expired", retention.Policy{Age: time.Hour, Bytes: -1}, es, 10},
		{"first expired", retention.Policy{Age: 800 * time.Second, Bytes: -1}, es, 20},
		{"stops at the first kept", retention.Policy{Age: 200 * time.Second, Bytes: -1}, es, 20},
		{"all expired", retention.Policy{Age: time.Second, Bytes: -1}, es, hw},
		{"bytes", retention.Policy{Age: -1, Bytes: 250}, es, 20},
		{"bytes exact", retention.Policy{Age: -1, Bytes: 200}, es, 30},
		{"bytes zero", retention.Policy{Age: -1, Bytes: 0}, es, hw},
		{"bytes large", retention.Policy{Age: -1, Bytes: 1 << 40}, es, 10},
		{"either", retention.Policy{Age: 800 * time.Second, Bytes: 150}, es, 30},
		{"empty", retention.Policy{Age: time.Second, Bytes: 0}, nil, hw},
		{"no timestamp uses creation", retention.Policy{Age: time.Minute, Bytes: -1},
			[]retention.Entry{{BaseOffset: 0, MaxTimestamp: -1, Created: now.Add(-2 * time.Minute)}, {BaseOffset: 5, MaxTimestamp: -1, Created: now}}, 5},
	}
	for _, c := range cases {
		if got := retention.LogStart(c.es, c.p, now, hw); got != c.want {
			t.Errorf("%s: LogStart = %d, want %d", c.name, got, c.want)
		}
	}
}
