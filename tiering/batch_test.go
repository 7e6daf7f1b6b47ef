package tiering

import (
	"encoding/binary"
	"hash/crc32"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// validBatch is a one-record v2 batch with a correct CRC.
func validBatch() []byte {
	rb := kmsg.RecordBatch{Magic: 2, NumRecords: 1, Records: []byte{1, 2, 3, 4, 5, 6, 7}}
	rb.Length = int32(49 + len(rb.Records))
	b := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}
