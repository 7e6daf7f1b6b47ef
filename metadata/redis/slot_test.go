package redis

import "testing"

func TestKeySlot(t *testing.T) {
	// Values from the Redis Cluster specification and CLUSTER KEYSLOT.
	for key, want := range map[string]int{
		"123456789":         0x31C3 % numSlots,
		"foo":               12182,
		"bar":               5061,
		"{user1000}.a":      keySlot("user1000"),
		"foo{}{bar}":        keySlot("foo{}{bar}"),
		"foo{{bar}}zap":     keySlot("{bar"),
		"sluice:{topics}:x": keySlot("topics"),
	} {
		if got := keySlot(key); got != want {
			t.Errorf("keySlot(%q) = %d, want %d", key, got, want)
		}
	}
	if keySlot("foo{}{bar}") == keySlot("bar") {
		t.Error("an empty first tag must hash the whole key")
	}
}

func TestSlotTag(t *testing.T) {
	for _, slot := range []int{0, 1, 5460, 5461, 10922, 16383} {
		tag := slotTag(slot)
		if got := keySlot("sluice:{" + tag + "}:epoch"); got != slot {
			t.Errorf("slotTag(%d) = %q, which lands in slot %d", slot, tag, got)
		}
	}
}
