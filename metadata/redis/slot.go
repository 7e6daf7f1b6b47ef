package redis

import (
	"strconv"
	"strings"
)

// numSlots is the number of Redis Cluster hash slots.
const numSlots = 16384

// crcTable is CRC-16/XMODEM (polynomial 0x1021), the checksum Redis
// Cluster hashes keys with.
var crcTable = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i) << 8
		for range 8 {
			if c&0x8000 != 0 {
				c = c<<1 ^ 0x1021
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

func crc16(s string) uint16 {
	var c uint16
	for i := 0; i < len(s); i++ {
		c = c<<8 ^ crcTable[byte(c>>8)^s[i]]
	}
	return c
}

// keySlot is the slot Redis Cluster puts key in: the hash of its hash tag,
// the part between the first "{" and the next "}" when that is not empty,
// else of the whole key.
func keySlot(key string) int {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	return int(crc16(key) % numSlots)
}

// slotTag returns a hash tag that lands in slot: the first decimal number
// that does. Every agent derives the same tag for the same slot.
func slotTag(slot int) string {
	for n := 0; ; n++ {
		tag := strconv.Itoa(n)
		if int(crc16(tag)%numSlots) == slot {
			return tag
		}
	}
}
