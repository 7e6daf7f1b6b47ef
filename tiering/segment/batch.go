package segment

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"iter"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Byte layout of a Kafka v2 record batch header. Magic sits at the same
// position in the v0/v1 message format, so it tells the formats apart.
const (
	batchLengthEnd  = 12 // baseOffset int64 + length int32
	batchMagicPos   = 16
	batchCRCPos     = 17
	batchCRCFrom    = 21 // the CRC covers attributes to the end of the batch
	BatchHeaderSize = 61 // bytes before the first record
	minBatchLength  = BatchHeaderSize - batchLengthEnd
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Codec is the compression codec in a batch's attributes.
type Codec int8

// The codecs Kafka defines. Values 5 to 7 are reserved.
const (
	CodecNone Codec = iota
	CodecGzip
	CodecSnappy
	CodecLZ4
	CodecZstd
)

func (c Codec) String() string {
	switch c {
	case CodecNone:
		return "none"
	case CodecGzip:
		return "gzip"
	case CodecSnappy:
		return "snappy"
	case CodecLZ4:
		return "lz4"
	case CodecZstd:
		return "zstd"
	}
	return fmt.Sprintf("unknown(%d)", int8(c))
}

// Known reports whether Kafka defines the codec.
func (c Codec) Known() bool { return c >= CodecNone && c <= CodecZstd }

// Attributes is the attributes field of a v2 record batch.
type Attributes int16

// Compression returns the codec of the batch's records.
func (a Attributes) Compression() Codec { return Codec(a & 0x07) }

// LogAppendTime reports whether timestamps are the broker's append time
// rather than the producer's create time.
func (a Attributes) LogAppendTime() bool { return a&0x08 != 0 }

// Transactional reports whether the batch is part of a transaction.
func (a Attributes) Transactional() bool { return a&0x10 != 0 }

// Control reports whether the batch holds a transaction marker rather than
// user records.
func (a Attributes) Control() bool { return a&0x20 != 0 }

// BatchHeader is the decoded header of one v2 record batch.
type BatchHeader struct {
	BaseOffset           int64
	Length               int32 // bytes after the length field
	PartitionLeaderEpoch int32
	Attributes           Attributes
	LastOffsetDelta      int32
	FirstTimestamp       int64
	MaxTimestamp         int64
	ProducerID           int64
	ProducerEpoch        int16
	BaseSequence         int32
	NumRecords           int32
}

// Size is the whole batch's length in bytes.
func (h BatchHeader) Size() int { return batchLengthEnd + int(h.Length) }

// Meta returns what a segment Writer indexes about the batch.
func (h BatchHeader) Meta() BatchMeta {
	return BatchMeta{
		BaseOffset:      h.BaseOffset,
		LastOffsetDelta: h.LastOffsetDelta,
		Records:         h.NumRecords,
		FirstTimestamp:  h.FirstTimestamp,
		MaxTimestamp:    h.MaxTimestamp,
	}
}

// ParseBatch decodes and checks the one v2 record batch that b holds: its
// length must match len(b) exactly, its magic must be 2 and its CRC-32C must
// match. It does not copy b or decompress the records.
func ParseBatch(b []byte) (BatchHeader, error) {
	h, err := parsePrefix(b, true)
	if err != nil {
		return BatchHeader{}, err
	}
	if extra := len(b) - h.Size(); extra != 0 {
		return BatchHeader{}, fmt.Errorf("%w: %d bytes after the batch", ErrCorrupt, extra)
	}
	return h, nil
}

// parsePrefix decodes the batch that starts b, checking its CRC when crc is
// set; bytes after it are ignored.
func parsePrefix(b []byte, crc bool) (BatchHeader, error) {
	if len(b) < batchLengthEnd {
		return BatchHeader{}, fmt.Errorf("%w: %d bytes, need %d for the batch length", ErrTruncated, len(b), batchLengthEnd)
	}
	// Check the length before anything is read past it, so a hostile length
	// can never make us read or allocate beyond b.
	length := int32(binary.BigEndian.Uint32(b[8:12]))
	if len(b) > batchMagicPos {
		if err := checkMagic(b[batchMagicPos]); err != nil {
			return BatchHeader{}, err
		}
	}
	if length < minBatchLength {
		return BatchHeader{}, fmt.Errorf("%w: batch length %d below the v2 minimum %d", ErrCorrupt, length, minBatchLength)
	}
	size := batchLengthEnd + int(length)
	if len(b) < size {
		return BatchHeader{}, fmt.Errorf("%w: batch of %d bytes, only %d present", ErrTruncated, size, len(b))
	}
	return decodeHeader(b[:size:size], crc)
}

func checkMagic(m byte) error {
	switch m {
	case 2:
		return nil
	case 0, 1:
		return ErrOldMessageFormat
	}
	return fmt.Errorf("%w: unknown batch magic %d", ErrCorrupt, m)
}

// decodeHeader decodes a batch whose length is already known to fit b.
func decodeHeader(b []byte, crc bool) (BatchHeader, error) {
	var rb kmsg.RecordBatch
	if err := rb.UnsafeReadFrom(b); err != nil {
		return BatchHeader{}, fmt.Errorf("%w: decoding batch header: %v", ErrCorrupt, err)
	}
	if crc {
		if got := crc32.Checksum(b[batchCRCFrom:], castagnoli); got != uint32(rb.CRC) {
			return BatchHeader{}, fmt.Errorf("%w: batch CRC %08x, computed %08x", ErrCorrupt, uint32(rb.CRC), got)
		}
	}
	if rb.NumRecords < 0 {
		return BatchHeader{}, fmt.Errorf("%w: negative record count %d", ErrCorrupt, rb.NumRecords)
	}
	return BatchHeader{
		BaseOffset:           rb.FirstOffset,
		Length:               rb.Length,
		PartitionLeaderEpoch: rb.PartitionLeaderEpoch,
		Attributes:           Attributes(rb.Attributes),
		LastOffsetDelta:      rb.LastOffsetDelta,
		FirstTimestamp:       rb.FirstTimestamp,
		MaxTimestamp:         rb.MaxTimestamp,
		ProducerID:           rb.ProducerID,
		ProducerEpoch:        rb.ProducerEpoch,
		BaseSequence:         rb.FirstSequence,
		NumRecords:           rb.NumRecords,
	}, nil
}

// SetBaseOffset writes off into the base offset field of the batch that
// starts b. The CRC does not cover that field, so the batch stays valid; this
// is how offsets assigned after the upload reach consumers. b must hold at
// least the first 8 bytes of a batch.
func SetBaseOffset(b []byte, off int64) {
	binary.BigEndian.PutUint64(b[:8], uint64(off))
}

// Batch is one record batch found by Batches.
type Batch struct {
	BatchHeader
	Pos int    // where the batch starts in the walked bytes
	Raw []byte // the whole batch; it aliases the walked bytes
}

// Batches walks the consecutive v2 record batches that fill b, checking each
// as ParseBatch does. On the first bad batch it yields the error, with the
// batch's position, and stops; trailing bytes that do not form a whole batch
// are reported as ErrTruncated.
func Batches(b []byte) iter.Seq2[Batch, error] { return walk(b, true) }

// StoredBatches is Batches without the CRC check, for batches that were
// checked when they were produced and are read back to be sent to a
// consumer: the consumer checks the CRCs, as it does with Kafka, whose
// brokers send stored batches unchecked. Checking them again was 14% of an
// agent's CPU in a replay. Lengths and magic are still checked, so bad bytes
// never make it read past b.
func StoredBatches(b []byte) iter.Seq2[Batch, error] { return walk(b, false) }

func walk(b []byte, crc bool) iter.Seq2[Batch, error] {
	return func(yield func(Batch, error) bool) {
		for pos := 0; pos < len(b); {
			h, err := parsePrefix(b[pos:], crc)
			if err != nil {
				yield(Batch{Pos: pos}, fmt.Errorf("parsing batch at byte %d: %w", pos, err))
				return
			}
			end := pos + h.Size()
			if !yield(Batch{BatchHeader: h, Pos: pos, Raw: b[pos:end:end]}, nil) {
				return
			}
			pos = end
		}
	}
}

// batchMaxTimestampPos is where a v2 batch header holds its max timestamp.
const batchMaxTimestampPos = 35

// SetLogAppendTime marks the batch that b holds as using log-append time,
// with ts as its timestamp, and recomputes its CRC, as Kafka does for a
// topic with message.timestamp.type=LogAppendTime. Only the header changes:
// the records stay as the producer compressed them. b must be a batch
// ParseBatch accepted.
func SetLogAppendTime(b []byte, ts int64) {
	attrs := binary.BigEndian.Uint16(b[batchCRCFrom:])
	binary.BigEndian.PutUint16(b[batchCRCFrom:], attrs|0x08)
	binary.BigEndian.PutUint64(b[batchMaxTimestampPos:], uint64(ts))
	binary.BigEndian.PutUint32(b[batchCRCPos:], crc32.Checksum(b[batchCRCFrom:], castagnoli))
}
