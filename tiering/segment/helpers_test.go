package segment

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// testBatch builds a valid v2 batch of n records whose record bytes are
// filler: the segment package never looks inside records.
func testBatch(base int64, n int32, firstTS, maxTS int64) []byte {
	rb := kmsg.RecordBatch{
		FirstOffset:     base,
		Magic:           2,
		Attributes:      int16(CodecZstd) | 0x10,
		LastOffsetDelta: n - 1,
		FirstTimestamp:  firstTS,
		MaxTimestamp:    maxTS,
		ProducerID:      7,
		ProducerEpoch:   1,
		FirstSequence:   3,
		NumRecords:      n,
		Records:         bytes.Repeat([]byte{byte(n)}, int(n)*5),
	}
	rb.Length = int32(minBatchLength + len(rb.Records))
	b := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(b[batchCRCPos:], crc32.Checksum(b[batchCRCFrom:], castagnoli))
	return b
}

// oldMessage builds a magic-1 message set entry.
func oldMessage() []byte {
	b := make([]byte, 12+22)
	binary.BigEndian.PutUint32(b[8:], 22)
	b[batchMagicPos] = 1
	return b
}

type testSection struct {
	Section
	batches [][]byte
}

var (
	topicA = Section{Topic: "orders", TopicID: [16]byte{1, 2, 3}, Partition: 0}
	topicB = Section{Topic: "orders", TopicID: [16]byte{1, 2, 3}, Partition: 1}
	topicC = Section{Topic: "payments", TopicID: [16]byte{9}, Partition: 0}
)

// testObject writes sections into an object of kind and returns its bytes.
func testObject(t testing.TB, kind Kind, sections ...testSection) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf, kind)
	for _, s := range sections {
		for _, b := range s.batches {
			h, err := ParseBatch(b)
			if err != nil {
				t.Fatalf("test batch: %v", err)
			}
			pos, err := w.WriteBatch(s.Section, b, h.Meta())
			if err != nil {
				t.Fatalf("WriteBatch: %v", err)
			}
			if pos != int64(buf.Len()-len(b)) {
				t.Fatalf("WriteBatch position %d, batch is at %d", pos, buf.Len()-len(b))
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if w.Size() != int64(buf.Len()) {
		t.Fatalf("Size %d after Close, wrote %d", w.Size(), buf.Len())
	}
	if want := crc32.Checksum(buf.Bytes(), castagnoli); w.CRC() != want {
		t.Fatalf("CRC %08x after Close, the object's is %08x", w.CRC(), want)
	}
	return buf.Bytes()
}

// ingestSample is a three-section ingest object.
func ingestSample(t testing.TB) []byte {
	return testObject(t, KindIngest,
		testSection{topicA, [][]byte{testBatch(0, 3, 100, 120), testBatch(0, 1, 90, 130)}},
		testSection{topicB, [][]byte{testBatch(0, 2, 200, 200)}},
		testSection{topicC, [][]byte{testBatch(0, 5, 50, 60)}},
	)
}

// compactedSample is a two-section compacted segment with real offsets.
func compactedSample(t testing.TB) []byte {
	return testObject(t, KindCompacted,
		testSection{topicA, [][]byte{testBatch(10, 3, 100, 120), testBatch(15, 2, 121, 125)}},
		testSection{topicC, [][]byte{testBatch(0, 4, 50, 60)}},
	)
}
