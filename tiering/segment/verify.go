package segment

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// MaxBatchSize bounds the buffer Verify allocates for one batch. Kafka's
// own batch length is an int32; no sane producer limit comes near this.
const MaxBatchSize = 256 << 20

// Verify reads the whole object and checks everything ReadFooter checks plus:
// the header agrees with the trailer, every section's CRC-32C matches, and
// every section is a run of valid v2 batches whose count, record total and
// (in compacted segments) offsets agree with the index. Timestamps are not
// compared: the agent may index append time rather than what the batch says.
func Verify(r io.ReaderAt, size int64) (Footer, error) {
	f, err := ReadFooter(r, size)
	if err != nil {
		return Footer{}, err
	}
	if err := verifyHeader(r, f); err != nil {
		return Footer{}, err
	}
	for _, s := range f.Sections {
		if err := verifySection(r, f.Kind, s); err != nil {
			return Footer{}, fmt.Errorf("verifying topic %q partition %d: %w", s.Topic, s.Partition, err)
		}
	}
	return f, nil
}

func verifyHeader(r io.ReaderAt, f Footer) error {
	h := make([]byte, HeaderSize)
	if err := readFull(r, h, 0); err != nil {
		return fmt.Errorf("reading header: %w", err)
	}
	if !bytes.Equal(h[:4], headerMagic[:]) {
		return fmt.Errorf("%w: no header magic, not a sluice object", ErrCorrupt)
	}
	if h[7] != 0 {
		return fmt.Errorf("%w: reserved header byte is %d", ErrCorrupt, h[7])
	}
	if v, k := binary.BigEndian.Uint16(h[4:6]), Kind(h[6]); v != f.Version || k != f.Kind {
		return fmt.Errorf("%w: header says version %d kind %s, trailer version %d kind %s", ErrCorrupt, v, k, f.Version, f.Kind)
	}
	return nil
}

// sectionTally is what walking a section's batches found.
type sectionTally struct {
	batches    int32
	records    int64
	baseOffset int64
	lastOffset int64
}

func verifySection(r io.ReaderAt, kind Kind, s SectionIndex) error {
	crc := crc32.New(castagnoli)
	src := bufio.NewReader(io.TeeReader(io.NewSectionReader(r, s.Pos, s.Len), crc))
	t := sectionTally{baseOffset: -1, lastOffset: -1}
	var buf []byte
	for left := s.Len; left > 0; {
		b, err := readBatch(src, left, buf)
		if err != nil {
			return fmt.Errorf("reading batch %d: %w", t.batches, err)
		}
		if err := t.add(kind, b); err != nil {
			return fmt.Errorf("batch %d: %w", t.batches, err)
		}
		left -= int64(len(b))
		buf = b
	}
	if got := crc.Sum32(); got != s.CRC {
		return fmt.Errorf("%w: section CRC %08x, computed %08x", ErrCorrupt, s.CRC, got)
	}
	return t.check(kind, s)
}

// readBatch reads the next whole batch from src, reusing buf, refusing one
// longer than the left bytes of its section before allocating it.
func readBatch(src io.Reader, left int64, buf []byte) ([]byte, error) {
	var lenField [batchLengthEnd]byte
	if left < batchLengthEnd {
		return nil, fmt.Errorf("%w: %d stray bytes at the end of the section", ErrCorrupt, left)
	}
	if _, err := io.ReadFull(src, lenField[:]); err != nil {
		return nil, truncated(err)
	}
	size := int64(batchLengthEnd) + int64(int32(binary.BigEndian.Uint32(lenField[8:])))
	if size < BatchHeaderSize || size > left || size > MaxBatchSize {
		return nil, fmt.Errorf("%w: batch of %d bytes with %d left in the section", ErrCorrupt, size, left)
	}
	if int64(cap(buf)) < size {
		buf = make([]byte, size)
	}
	buf = buf[:size]
	copy(buf, lenField[:])
	if _, err := io.ReadFull(src, buf[batchLengthEnd:]); err != nil {
		return nil, truncated(err)
	}
	return buf, nil
}

func truncated(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return ErrTruncated
	}
	return err
}

func (t *sectionTally) add(kind Kind, b []byte) error {
	h, err := ParseBatch(b)
	if err != nil {
		return err
	}
	if kind == KindCompacted {
		if h.BaseOffset <= t.lastOffset {
			return fmt.Errorf("%w: base offset %d not after %d", ErrCorrupt, h.BaseOffset, t.lastOffset)
		}
		if t.batches == 0 {
			t.baseOffset = h.BaseOffset
		}
		t.lastOffset = h.BaseOffset + int64(h.LastOffsetDelta)
	}
	t.batches++
	t.records += int64(h.NumRecords)
	return nil
}

func (t sectionTally) check(kind Kind, s SectionIndex) error {
	if t.batches != s.Batches || t.records != s.Records {
		return fmt.Errorf("%w: index says %d batches and %d records, found %d and %d",
			ErrCorrupt, s.Batches, s.Records, t.batches, t.records)
	}
	if kind == KindCompacted && (t.baseOffset != s.BaseOffset || t.lastOffset != s.LastOffset) {
		return fmt.Errorf("%w: index says offsets %d-%d, batches hold %d-%d",
			ErrCorrupt, s.BaseOffset, s.LastOffset, t.baseOffset, t.lastOffset)
	}
	return nil
}
