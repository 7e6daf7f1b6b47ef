package segment

import (
	"bytes"
	"errors"
	"testing"
)

func TestWriterRoundTrip(t *testing.T) {
	obj := ingestSample(t)
	f, err := Verify(bytes.NewReader(obj), int64(len(obj)))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if f.Version != Version || f.Kind != KindIngest || len(f.Sections) != 3 {
		t.Fatalf("footer v%d %s with %d sections, want v%d ingest with 3", f.Version, f.Kind, len(f.Sections), Version)
	}
	a := f.Sections[0]
	if a.Section != topicA || a.Pos != HeaderSize || a.Batches != 2 || a.Records != 4 ||
		a.FirstTimestamp != 100 || a.MaxTimestamp != 130 || a.BaseOffset != -1 || a.LastOffset != -1 {
		t.Fatalf("first section = %+v", a)
	}
	for i, s := range f.Sections {
		for b, err := range Batches(obj[s.Pos:s.End()]) {
			if err != nil {
				t.Fatalf("section %d batch at %d: %v", i, b.Pos, err)
			}
		}
	}
}

func TestWriterCompactedOffsets(t *testing.T) {
	obj := compactedSample(t)
	f, err := Verify(bytes.NewReader(obj), int64(len(obj)))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if s := f.Sections[0]; s.BaseOffset != 10 || s.LastOffset != 16 {
		t.Fatalf("offsets %d-%d, want 10-16", s.BaseOffset, s.LastOffset)
	}
	if s := f.Sections[1]; s.BaseOffset != 0 || s.LastOffset != 3 {
		t.Fatalf("offsets %d-%d, want 0-3", s.BaseOffset, s.LastOffset)
	}
}

func TestWriterEmptyObject(t *testing.T) {
	obj := testObject(t, KindIngest)
	f, err := Verify(bytes.NewReader(obj), int64(len(obj)))
	if err != nil || len(f.Sections) != 0 {
		t.Fatalf("Verify of an empty object = %d sections, %v", len(f.Sections), err)
	}
	if len(obj) != HeaderSize+4+TrailerSize {
		t.Fatalf("empty object is %d bytes", len(obj))
	}
}

func TestWriterRefuses(t *testing.T) {
	b := testBatch(0, 1, 1, 1)
	meta := BatchMeta{Records: 1}
	tests := map[string]struct {
		kind Kind
		do   func(w *Writer) error
		want error
	}{
		"section reopened": {KindIngest, func(w *Writer) error {
			w.WriteBatch(topicA, b, meta)
			w.WriteBatch(topicB, b, meta)
			_, err := w.WriteBatch(topicA, b, meta)
			return err
		}, ErrSectionReopened},
		"empty batch": {KindIngest, func(w *Writer) error {
			_, err := w.WriteBatch(topicA, nil, meta)
			return err
		}, ErrInvalidBatch},
		"long topic name": {KindIngest, func(w *Writer) error {
			_, err := w.WriteBatch(Section{Topic: string(make([]byte, 250))}, b, meta)
			return err
		}, ErrInvalidBatch},
		"offsets backwards": {KindCompacted, func(w *Writer) error {
			w.WriteBatch(topicA, b, BatchMeta{BaseOffset: 10, LastOffsetDelta: 4})
			_, err := w.WriteBatch(topicA, b, BatchMeta{BaseOffset: 14})
			return err
		}, ErrInvalidBatch},
		"negative offset in compacted": {KindCompacted, func(w *Writer) error {
			_, err := w.WriteBatch(topicA, b, BatchMeta{BaseOffset: -1})
			return err
		}, ErrInvalidBatch},
		"unknown kind": {Kind(9), func(w *Writer) error { return w.Close() }, ErrInvalidBatch},
		"write after close": {KindIngest, func(w *Writer) error {
			w.Close()
			_, err := w.WriteBatch(topicA, b, meta)
			return err
		}, ErrClosed},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if err := tt.do(NewWriter(&bytes.Buffer{}, tt.kind)); !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
		})
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n -= len(p); f.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestWriterErrorIsSticky(t *testing.T) {
	w := NewWriter(&failWriter{n: HeaderSize}, KindIngest)
	b := testBatch(0, 1, 1, 1)
	if _, err := w.WriteBatch(topicA, b, BatchMeta{Records: 1}); err == nil {
		t.Fatal("WriteBatch succeeded on a full writer")
	}
	if err := w.Close(); err == nil {
		t.Fatal("Close succeeded after a write error")
	}
}

func TestReadFooterRejects(t *testing.T) {
	obj := ingestSample(t)
	tests := map[string]struct {
		mutate func([]byte) []byte
		want   error
	}{
		"too small":          {func(b []byte) []byte { return b[:HeaderSize+TrailerSize-1] }, ErrTruncated},
		"no trailing magic":  {func(b []byte) []byte { b[len(b)-1] ^= 1; return b }, ErrCorrupt},
		"newer version":      {func(b []byte) []byte { b[len(b)-15] = 2; return b }, ErrUnsupportedVersion},
		"footer crc":         {func(b []byte) []byte { b[len(b)-20] ^= 1; return b }, ErrCorrupt},
		"footer too long":    {func(b []byte) []byte { b[len(b)-12] = 0xff; return b }, ErrCorrupt},
		"data removed":       {func(b []byte) []byte { return append(b[:HeaderSize], b[HeaderSize+1:]...) }, ErrCorrupt},
		"truncated at front": {func(b []byte) []byte { return b[100:] }, ErrCorrupt},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			b := tt.mutate(bytes.Clone(obj))
			if _, err := ReadFooter(bytes.NewReader(b), int64(len(b))); !errors.Is(err, tt.want) {
				t.Fatalf("ReadFooter error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestReadFooterShortReader(t *testing.T) {
	obj := ingestSample(t)
	// The caller says the object is bigger than the bytes behind the reader.
	if _, err := ReadFooter(bytes.NewReader(obj), int64(len(obj))+10); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("ReadFooter error = %v, want ErrCorrupt", err)
	}
}

func TestVerifyCatchesEveryDataByte(t *testing.T) {
	obj := ingestSample(t)
	f, err := ReadFooter(bytes.NewReader(obj), int64(len(obj)))
	if err != nil {
		t.Fatal(err)
	}
	for i := range f.DataEnd(int64(len(obj))) {
		b := bytes.Clone(obj)
		b[i] ^= 0x40
		if _, err := Verify(bytes.NewReader(b), int64(len(b))); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("flipping byte %d: Verify error = %v, want ErrCorrupt", i, err)
		}
	}
}

func TestVerifyChecksCompactedOffsets(t *testing.T) {
	obj := compactedSample(t)
	// Base offsets are outside the batch CRC; the index must still catch a
	// batch whose offset disagrees with it.
	SetBaseOffset(obj[HeaderSize:], 11)
	if _, err := Verify(bytes.NewReader(obj), int64(len(obj))); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Verify error = %v, want ErrCorrupt", err)
	}
}

func TestDump(t *testing.T) {
	obj := compactedSample(t)
	f, err := ReadFooter(bytes.NewReader(obj), int64(len(obj)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Dump(&out, f); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"format v1 compacted, 2 sections, 9 records", "orders", "payments", "10-16", "1970-01-01T00:00:00.1Z"} {
		if !bytes.Contains(out.Bytes(), []byte(want)) {
			t.Errorf("Dump output lacks %q:\n%s", want, out.String())
		}
	}
}
