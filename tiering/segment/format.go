package segment

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Layout constants; doc.go draws them.
const (
	// Version is the format version this package writes.
	Version uint16 = 1

	HeaderSize  = 8  // magic, version, kind, reserved
	TrailerSize = 16 // version, kind, reserved, footer length, footer CRC, magic

	// MaxTopicNameLen is Kafka's own limit on topic names.
	MaxTopicNameLen = 249
	// MaxFooterSize bounds what ReadFooter allocates for a footer. Half a million
	// sections with the longest topic names stay under it.
	MaxFooterSize = 1 << 28

	// entryFixedSize is a footer entry without its topic name.
	entryFixedSize = 2 + 16 + 4 + 8 + 8 + 4 + 8 + 8 + 8 + 8 + 8 + 4
)

var (
	headerMagic  = [4]byte{'S', 'L', 'C', 'E'}
	trailerMagic = [4]byte{'E', 'C', 'L', 'S'}
)

// Kind says how an object's offsets are known.
type Kind uint8

const (
	// KindIngest objects are written by an agent's flush, before Redis
	// assigns offsets: every section's BaseOffset is -1 and the batches'
	// own base offset fields are whatever the producer sent.
	KindIngest Kind = 1
	// KindCompacted segments are rewritten by compaction with their real
	// offsets, both in the index and in every batch header.
	KindCompacted Kind = 2
)

func (k Kind) String() string {
	switch k {
	case KindIngest:
		return "ingest"
	case KindCompacted:
		return "compacted"
	}
	return fmt.Sprintf("unknown(%d)", uint8(k))
}

func (k Kind) valid() bool { return k == KindIngest || k == KindCompacted }

// Section identifies one partition's run of batches in an object.
type Section struct {
	Topic     string // topic name, for people; TopicID is what identifies it
	TopicID   [16]byte
	Partition int32
}

// sectionID is what makes a section unique: names can be reused by a new
// topic, IDs cannot.
type sectionID struct {
	topicID   [16]byte
	partition int32
}

func (s Section) id() sectionID { return sectionID{s.TopicID, s.Partition} }

// SectionIndex is the footer entry of one section.
type SectionIndex struct {
	Section
	Pos            int64 // absolute byte position of the first batch
	Len            int64 // bytes of all the section's batches
	Batches        int32
	Records        int64
	FirstTimestamp int64 // the first batch's first timestamp
	MaxTimestamp   int64 // the largest max timestamp of any batch
	BaseOffset     int64 // first offset; -1 in ingest objects
	LastOffset     int64 // last offset; -1 in ingest objects
	CRC            uint32
}

// End is the byte position just past the section.
func (s SectionIndex) End() int64 { return s.Pos + s.Len }

// Footer is the decoded index of an object.
type Footer struct {
	Version  uint16
	Kind     Kind
	Sections []SectionIndex
	// Size is the footer's own length, trailer included: the object's data
	// ends at objectSize - Size.
	Size int64
}

// DataEnd is the position where the footer starts in an object of size.
func (f Footer) DataEnd(objectSize int64) int64 { return objectSize - f.Size }

func encodeHeader(kind Kind) []byte {
	b := make([]byte, HeaderSize)
	copy(b, headerMagic[:])
	binary.BigEndian.PutUint16(b[4:], Version)
	b[6] = byte(kind)
	return b
}

// encodeFooter appends the footer body and trailer for sections.
func encodeFooter(dst []byte, kind Kind, sections []SectionIndex) []byte {
	start := len(dst)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(sections)))
	for _, s := range sections {
		dst = appendEntry(dst, s)
	}
	bodyLen := len(dst) - start
	dst = binary.BigEndian.AppendUint16(dst, Version)
	dst = append(dst, byte(kind), 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(bodyLen))
	dst = binary.BigEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli))
	return append(dst, trailerMagic[:]...)
}

func appendEntry(dst []byte, s SectionIndex) []byte {
	be := binary.BigEndian
	dst = be.AppendUint16(dst, uint16(len(s.Topic)))
	dst = append(dst, s.Topic...)
	dst = append(dst, s.TopicID[:]...)
	dst = be.AppendUint32(dst, uint32(s.Partition))
	dst = be.AppendUint64(dst, uint64(s.Pos))
	dst = be.AppendUint64(dst, uint64(s.Len))
	dst = be.AppendUint32(dst, uint32(s.Batches))
	dst = be.AppendUint64(dst, uint64(s.Records))
	dst = be.AppendUint64(dst, uint64(s.FirstTimestamp))
	dst = be.AppendUint64(dst, uint64(s.MaxTimestamp))
	dst = be.AppendUint64(dst, uint64(s.BaseOffset))
	dst = be.AppendUint64(dst, uint64(s.LastOffset))
	return be.AppendUint32(dst, s.CRC)
}
