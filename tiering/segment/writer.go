package segment

import (
	"fmt"
	"hash/crc32"
	"io"
	"math"
)

// BatchMeta is what the index records about a batch. The produce path
// already has it from validating the batch, so the writer does not parse
// the batch again; BatchHeader.Meta builds it.
type BatchMeta struct {
	BaseOffset      int64 // real offset in compacted segments, ignored in ingest objects
	LastOffsetDelta int32
	Records         int32
	FirstTimestamp  int64
	MaxTimestamp    int64
}

// Writer streams an object: the header, then batches section by section,
// then on Close the footer. It is not safe for concurrent use. After any
// error from the underlying writer every call returns that error.
type Writer struct {
	w    io.Writer
	kind Kind
	pos  int64
	err  error

	done    map[sectionID]bool // sections already finished
	cur     *SectionIndex      // section being written, nil before the first
	crc     uint32             // of the section being written
	index   []SectionIndex
	started bool
	closed  bool
	objCRC  uint32 // of the whole object, once closed
}

// NewWriter returns a Writer of an object of kind. Nothing is written to w
// until the first WriteBatch or Close.
func NewWriter(w io.Writer, kind Kind) *Writer {
	return &Writer{w: w, kind: kind, done: map[sectionID]bool{}}
}

// Size is the number of bytes written so far, footer excluded until Close.
func (w *Writer) Size() int64 { return w.pos }

// WriteBatch appends batch to section s and returns the absolute position of
// the batch in the object. All batches of a section must be written one after
// another: a section that reappears after another returns ErrSectionReopened.
// In compacted segments offsets must increase within a section. The batch's
// own CRC must have been checked (ParseBatch, Batches): the section's CRC is
// derived from it.
func (w *Writer) WriteBatch(s Section, batch []byte, m BatchMeta) (int64, error) {
	if err := w.usable(); err != nil {
		return 0, err
	}
	if err := w.checkBatch(s, batch, m); err != nil {
		return 0, err
	}
	if err := w.writeHeader(); err != nil {
		return 0, err
	}
	if w.cur == nil || w.cur.id() != s.id() {
		w.startSection(s, m)
	}
	pos := w.pos
	if err := w.write(batch); err != nil {
		return 0, err
	}
	w.crc = extendCRC(w.crc, batch)
	w.account(int64(len(batch)), m)
	return pos, nil
}

func (w *Writer) usable() error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return ErrClosed
	}
	if !w.kind.valid() {
		return fmt.Errorf("%w: unknown object kind %d", ErrInvalidBatch, w.kind)
	}
	return nil
}

func (w *Writer) checkBatch(s Section, batch []byte, m BatchMeta) error {
	switch {
	case len(batch) == 0:
		return fmt.Errorf("%w: empty batch", ErrInvalidBatch)
	case len(s.Topic) > MaxTopicNameLen:
		return fmt.Errorf("%w: topic name of %d bytes, max %d", ErrInvalidBatch, len(s.Topic), MaxTopicNameLen)
	case m.Records < 0 || m.LastOffsetDelta < 0:
		return fmt.Errorf("%w: negative record count or offset delta", ErrInvalidBatch)
	case w.done[s.id()]:
		return fmt.Errorf("%w: topic %s partition %d", ErrSectionReopened, s.Topic, s.Partition)
	}
	if w.cur != nil && w.cur.id() == s.id() {
		if w.cur.Topic != s.Topic {
			return fmt.Errorf("%w: topic ID written under names %q and %q", ErrInvalidBatch, w.cur.Topic, s.Topic)
		}
		if w.cur.Batches == math.MaxInt32 {
			return fmt.Errorf("%w: section holds the maximum number of batches", ErrInvalidBatch)
		}
	}
	return w.checkOffsets(s, m)
}

func (w *Writer) checkOffsets(s Section, m BatchMeta) error {
	if w.kind != KindCompacted {
		return nil
	}
	if m.BaseOffset < 0 || m.BaseOffset > math.MaxInt64-int64(m.LastOffsetDelta) {
		return fmt.Errorf("%w: base offset %d in a compacted segment", ErrInvalidBatch, m.BaseOffset)
	}
	if w.cur != nil && w.cur.id() == s.id() && m.BaseOffset <= w.cur.LastOffset {
		return fmt.Errorf("%w: base offset %d not after last offset %d", ErrInvalidBatch, m.BaseOffset, w.cur.LastOffset)
	}
	return nil
}

func (w *Writer) writeHeader() error {
	if w.started {
		return nil
	}
	w.started = true
	return w.write(encodeHeader(w.kind))
}

// startSection closes the current section and opens s at the current position.
func (w *Writer) startSection(s Section, m BatchMeta) {
	w.finishSection()
	w.index = append(w.index, SectionIndex{
		Section:        s,
		Pos:            w.pos,
		FirstTimestamp: m.FirstTimestamp,
		MaxTimestamp:   m.MaxTimestamp,
		BaseOffset:     -1,
		LastOffset:     -1,
	})
	w.cur = &w.index[len(w.index)-1]
	if w.kind == KindCompacted {
		w.cur.BaseOffset = m.BaseOffset
	}
}

func (w *Writer) finishSection() {
	if w.cur == nil {
		return
	}
	w.cur.CRC = w.crc
	w.crc = 0
	w.done[w.cur.id()] = true
	w.cur = nil
}

func (w *Writer) account(n int64, m BatchMeta) {
	c := w.cur
	c.Len += n
	c.Batches++
	c.Records += int64(m.Records)
	c.MaxTimestamp = max(c.MaxTimestamp, m.MaxTimestamp)
	if w.kind == KindCompacted {
		c.LastOffset = m.BaseOffset + int64(m.LastOffsetDelta)
	}
}

// Close finishes the last section and writes the footer. It does not close
// the underlying writer. An object with no batches is valid: a header, an
// empty index and the trailer.
func (w *Writer) Close() error {
	if err := w.usable(); err != nil {
		return err
	}
	if err := w.writeHeader(); err != nil {
		return err
	}
	w.finishSection()
	w.closed = true
	footer := encodeFooter(nil, w.kind, w.index)
	if err := w.write(footer); err != nil {
		return err
	}
	// The sections tile the object between header and footer, so their
	// CRCs give the object's without another pass over its bytes.
	w.objCRC = crc32.Checksum(encodeHeader(w.kind), castagnoli)
	for _, s := range w.index {
		w.objCRC = combineCRC(w.objCRC, s.CRC, s.Len)
	}
	w.objCRC = crc32.Update(w.objCRC, castagnoli, footer)
	return nil
}

// CRC returns the CRC-32C of the whole object once Close has succeeded: what
// an object store that checks uploads end to end is given (S3's
// x-amz-checksum-crc32c).
func (w *Writer) CRC() uint32 { return w.objCRC }

// Index returns the sections written so far; after Close it is the footer's
// index. Sections still being written have no CRC yet.
func (w *Writer) Index() []SectionIndex { return append([]SectionIndex(nil), w.index...) }

func (w *Writer) write(b []byte) error {
	n, err := w.w.Write(b)
	w.pos += int64(n)
	if err != nil {
		w.err = fmt.Errorf("writing segment: %w", err)
		return w.err
	}
	return nil
}
