package segment

import (
	"encoding/binary"
	"hash/crc32"
)

// castagnoliPoly is the CRC-32C polynomial, bit-reversed as hash/crc32
// uses it.
const castagnoliPoly = 0x82f63b78

// x2n[k] is x^(2^k) modulo the polynomial: shifting a CRC past 2^k zero
// bits is a multiplication by it.
var x2n = func() (t [32]uint32) {
	p := uint32(1) << 30 // x^1
	for k := range t {
		t[k] = p
		p = multModP(p, p)
	}
	return t
}()

// multModP multiplies a and b modulo the polynomial, in the reflected bit
// order of a CRC register.
func multModP(a, b uint32) uint32 {
	var p uint32
	for m := uint32(1) << 31; m != 0; m >>= 1 {
		if a&m != 0 {
			p ^= b
		}
		if b&1 != 0 {
			b = b>>1 ^ castagnoliPoly
		} else {
			b >>= 1
		}
	}
	return p
}

// combineCRC returns the CRC-32C of A followed by B, given crcA, the CRC-32C
// of A, and crcB, that of B, which is n bytes long: the method of zlib's
// crc32_combine. It costs one multiplication per bit of n, not a pass over
// B's bytes.
func combineCRC(crcA, crcB uint32, n int64) uint32 {
	shift := uint32(1) << 31 // x^0
	for k := 3; n > 0; n, k = n>>1, k+1 {
		if n&1 != 0 {
			shift = multModP(x2n[k&31], shift)
		}
	}
	return multModP(shift, crcA) ^ crcB
}

// extendCRC returns the CRC-32C of the bytes crc covers followed by batch,
// a record batch whose own CRC has been checked: that CRC already covers
// everything from the attributes on, so only the 21 bytes before them are
// read. ParseBatch and Batches check it on the produce and compaction paths,
// and it made the section CRC a second pass over every produced byte. Bytes
// that are not a v2 batch are read whole.
func extendCRC(crc uint32, batch []byte) uint32 {
	if len(batch) < BatchHeaderSize || batch[batchMagicPos] != 2 {
		return crc32.Update(crc, castagnoli, batch)
	}
	crc = crc32.Update(crc, castagnoli, batch[:batchCRCFrom])
	own := binary.BigEndian.Uint32(batch[batchCRCPos:])
	return combineCRC(crc, own, int64(len(batch)-batchCRCFrom))
}
