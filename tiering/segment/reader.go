package segment

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// ReadFooter reads and checks the footer of the object of size bytes in r:
// the trailer, the footer checksum, and that the sections tile the data
// exactly, in order, each at most once. It reads only the end of the object
// and never allocates more than the object's size or MaxFooterSize.
func ReadFooter(r io.ReaderAt, size int64) (Footer, error) {
	if size < HeaderSize+TrailerSize {
		return Footer{}, fmt.Errorf("%w: object of %d bytes is smaller than header and trailer", ErrTruncated, size)
	}
	trailer := make([]byte, TrailerSize)
	if err := readFull(r, trailer, size-TrailerSize); err != nil {
		return Footer{}, fmt.Errorf("reading trailer: %w", err)
	}
	kind, bodyLen, err := parseTrailer(trailer, size)
	if err != nil {
		return Footer{}, err
	}
	body := make([]byte, bodyLen, bodyLen+8)
	if err := readFull(r, body, size-TrailerSize-bodyLen); err != nil {
		return Footer{}, fmt.Errorf("reading footer: %w", err)
	}
	want := binary.BigEndian.Uint32(trailer[8:12])
	if got := crc32.Checksum(append(body, trailer[:8]...), castagnoli); got != want {
		return Footer{}, fmt.Errorf("%w: footer CRC %08x, computed %08x", ErrCorrupt, want, got)
	}
	f := Footer{Version: Version, Kind: kind, Size: bodyLen + TrailerSize}
	if f.Sections, err = decodeEntries(body); err != nil {
		return Footer{}, err
	}
	if err := checkLayout(f, size); err != nil {
		return Footer{}, err
	}
	return f, nil
}

// parseTrailer checks the trailer and returns the kind and footer body length.
func parseTrailer(t []byte, size int64) (Kind, int64, error) {
	if !bytes.Equal(t[12:], trailerMagic[:]) {
		return 0, 0, fmt.Errorf("%w: no trailing magic, not a sluice object", ErrCorrupt)
	}
	// The version is checked before anything else in the footer is trusted:
	// a newer version may lay out everything before it differently.
	if v := binary.BigEndian.Uint16(t[0:2]); v != Version {
		return 0, 0, fmt.Errorf("%w: object version %d, this reader knows %d", ErrUnsupportedVersion, v, Version)
	}
	kind := Kind(t[2])
	if !kind.valid() || t[3] != 0 {
		return 0, 0, fmt.Errorf("%w: unknown object kind %d or reserved byte %d", ErrCorrupt, t[2], t[3])
	}
	bodyLen := int64(binary.BigEndian.Uint32(t[4:8]))
	if bodyLen < 4 || bodyLen > MaxFooterSize || bodyLen > size-HeaderSize-TrailerSize {
		return 0, 0, fmt.Errorf("%w: footer length %d does not fit an object of %d bytes", ErrCorrupt, bodyLen, size)
	}
	return kind, bodyLen, nil
}

func decodeEntries(body []byte) ([]SectionIndex, error) {
	d := decoder{b: body}
	n := d.u32()
	// Each entry takes at least entryFixedSize bytes, so a count the body
	// cannot hold is refused before the slice is allocated.
	if int64(n) > int64(len(d.b))/entryFixedSize {
		return nil, fmt.Errorf("%w: footer claims %d sections in %d bytes", ErrCorrupt, n, len(body))
	}
	sections := make([]SectionIndex, 0, n)
	for range n {
		sections = append(sections, d.entry())
	}
	if d.bad {
		return nil, fmt.Errorf("%w: footer entries overrun the footer", ErrCorrupt)
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("%w: %d unread bytes after the footer entries", ErrCorrupt, len(d.b))
	}
	return sections, nil
}

// checkLayout checks what a footer says against itself and the object size.
func checkLayout(f Footer, size int64) error {
	pos := int64(HeaderSize)
	seen := make(map[sectionID]bool, len(f.Sections))
	for i, s := range f.Sections {
		if err := checkEntry(f.Kind, s, pos); err != nil {
			return fmt.Errorf("%w: section %d (topic %q partition %d): %v", ErrCorrupt, i, s.Topic, s.Partition, err)
		}
		if seen[s.id()] {
			return fmt.Errorf("%w: section %d repeats topic %q partition %d", ErrCorrupt, i, s.Topic, s.Partition)
		}
		seen[s.id()] = true
		pos = s.End()
	}
	if pos != f.DataEnd(size) {
		return fmt.Errorf("%w: sections end at %d, footer starts at %d", ErrCorrupt, pos, f.DataEnd(size))
	}
	return nil
}

func checkEntry(kind Kind, s SectionIndex, pos int64) error {
	switch {
	case len(s.Topic) > MaxTopicNameLen:
		return fmt.Errorf("topic name of %d bytes", len(s.Topic))
	case s.Pos != pos:
		return fmt.Errorf("starts at %d, expected %d", s.Pos, pos)
	case s.Batches < 1 || s.Len < int64(s.Batches)*BatchHeaderSize || s.Len > 1<<62:
		return fmt.Errorf("%d batches in %d bytes", s.Batches, s.Len)
	case s.Records < 0:
		return fmt.Errorf("negative record count %d", s.Records)
	case kind == KindIngest && (s.BaseOffset != -1 || s.LastOffset != -1):
		return fmt.Errorf("offsets %d-%d in an ingest object", s.BaseOffset, s.LastOffset)
	case kind == KindCompacted && (s.BaseOffset < 0 || s.LastOffset < s.BaseOffset):
		return fmt.Errorf("offsets %d-%d in a compacted segment", s.BaseOffset, s.LastOffset)
	}
	return nil
}

// readFull reads len(p) bytes at off. A short read means the object is
// shorter than the size it was said to have.
func readFull(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: %d of %d bytes at %d", ErrTruncated, n, len(p), off)
	}
	return err
}

// decoder reads big-endian fields, turning any overrun into bad = true.
type decoder struct {
	b   []byte
	bad bool
}

func (d *decoder) take(n int) []byte {
	if d.bad || len(d.b) < n {
		d.bad = true
		return make([]byte, n)
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) u16() uint16 { return binary.BigEndian.Uint16(d.take(2)) }
func (d *decoder) u32() uint32 { return binary.BigEndian.Uint32(d.take(4)) }
func (d *decoder) i32() int32  { return int32(d.u32()) }
func (d *decoder) i64() int64  { return int64(binary.BigEndian.Uint64(d.take(8))) }

func (d *decoder) entry() SectionIndex {
	var s SectionIndex
	s.Topic = string(d.take(int(d.u16())))
	copy(s.TopicID[:], d.take(16))
	s.Partition = d.i32()
	s.Pos, s.Len = d.i64(), d.i64()
	s.Batches = d.i32()
	s.Records = d.i64()
	s.FirstTimestamp, s.MaxTimestamp = d.i64(), d.i64()
	s.BaseOffset, s.LastOffset = d.i64(), d.i64()
	s.CRC = d.u32()
	return s
}
