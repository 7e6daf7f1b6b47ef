package segment

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// classified reports whether err is one of the errors the decoders promise.
func classified(err error) bool {
	return errors.Is(err, ErrCorrupt) || errors.Is(err, ErrOldMessageFormat) || errors.Is(err, ErrUnsupportedVersion)
}

func addBatchSeeds(f *testing.F) {
	valid := bytes.Join([][]byte{testBatch(0, 2, 1, 2), testBatch(2, 1, 3, 3)}, nil)
	f.Add([]byte{})
	f.Add(valid[:30])
	f.Add(maxLengthBatch())
	f.Add(testBatch(5, 3, 10, 20))
	f.Add(valid)
	f.Add(append(bytes.Clone(valid), 0xde, 0xad, 0xbe, 0xef))
	f.Add(oldMessage())
}

func FuzzParseBatch(f *testing.F) {
	addBatchSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := ParseBatch(data)
		if err != nil {
			if !classified(err) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		if h.Size() != len(data) || h.NumRecords < 0 {
			t.Fatalf("accepted batch of size %d with %d records from %d bytes", h.Size(), h.NumRecords, len(data))
		}
		// Rewriting the base offset keeps the batch valid and changes nothing else.
		b := bytes.Clone(data)
		SetBaseOffset(b, h.BaseOffset^0x5555)
		h2, err := ParseBatch(b)
		h2.BaseOffset ^= 0x5555
		if err != nil || h2 != h {
			t.Fatalf("after SetBaseOffset: %+v, %v; want %+v", h2, err, h)
		}
	})
}

func FuzzBatches(f *testing.F) {
	addBatchSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		end := 0
		failed := false
		for b, err := range Batches(data) {
			if b.Pos != end {
				t.Fatalf("batch at %d, previous ended at %d", b.Pos, end)
			}
			if err != nil {
				if !classified(err) {
					t.Fatalf("unclassified error: %v", err)
				}
				failed = true
				continue
			}
			if h, err := ParseBatch(b.Raw); err != nil || h != b.BatchHeader {
				t.Fatalf("batch at %d does not parse alone: %+v, %v", b.Pos, h, err)
			}
			if !bytes.Equal(b.Raw, data[b.Pos:b.Pos+len(b.Raw)]) {
				t.Fatalf("batch at %d does not alias the input", b.Pos)
			}
			end += len(b.Raw)
		}
		if !failed && end != len(data) {
			t.Fatalf("walk ended at %d of %d bytes without an error", end, len(data))
		}
		// Without the CRC check the walk sees every batch Batches saw,
		// and stops at the same place unless a CRC was what stopped it.
		stored := 0
		for b, err := range StoredBatches(data) {
			if b.Pos != stored {
				t.Fatalf("stored batch at %d, previous ended at %d", b.Pos, stored)
			}
			if err != nil {
				if !classified(err) {
					t.Fatalf("unclassified error: %v", err)
				}
				break
			}
			stored += len(b.Raw)
		}
		if stored < end {
			t.Fatalf("StoredBatches stopped at %d, before Batches at %d", stored, end)
		}
	})
}

func addObjectSeeds(f *testing.F) {
	obj := ingestSample(f)
	huge := bytes.Clone(obj)
	binary.BigEndian.PutUint32(huge[len(huge)-12:], 0xffffffff)
	f.Add([]byte{})
	f.Add(obj[:len(obj)/2])
	f.Add(obj[len(obj)/2:])
	f.Add(huge)
	f.Add(obj)
	f.Add(compactedSample(f))
	f.Add(testObject(f, KindIngest))
	f.Add(append(bytes.Clone(obj), 1, 2, 3))
	f.Add(append([]byte{1, 2, 3}, obj...))
}

func FuzzReadFooter(f *testing.F) {
	addObjectSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		size := int64(len(data))
		ft, err := ReadFooter(bytes.NewReader(data), size)
		if err != nil {
			if !classified(err) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		checkFooterInvariants(t, data, ft)
	})
}

// checkFooterInvariants asserts that an accepted footer points only inside
// the object and encodes back to the exact bytes it came from.
func checkFooterInvariants(t *testing.T, data []byte, ft Footer) {
	size := int64(len(data))
	if ft.Size < TrailerSize+4 || ft.DataEnd(size) < HeaderSize {
		t.Fatalf("footer of %d bytes in an object of %d", ft.Size, size)
	}
	pos := int64(HeaderSize)
	for _, s := range ft.Sections {
		if s.Pos != pos || s.Len <= 0 || s.End() > ft.DataEnd(size) {
			t.Fatalf("section [%d, %d) out of place; expected start %d, data ends %d", s.Pos, s.End(), pos, ft.DataEnd(size))
		}
		pos = s.End()
	}
	if enc := encodeFooter(nil, ft.Kind, ft.Sections); !bytes.Equal(enc, data[ft.DataEnd(size):]) {
		t.Fatalf("footer does not re-encode to its own bytes")
	}
}

func FuzzVerify(f *testing.F) {
	addObjectSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		ft, err := Verify(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			if !classified(err) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		checkFooterInvariants(t, data, ft)
		checkRewrite(t, data, ft)
	})
}

// checkRewrite asserts that a verified object is exactly what a Writer
// makes from its batches: same bytes, same index (timestamps aside, which the
// writer takes from its caller and Verify does not check).
func checkRewrite(t *testing.T, data []byte, ft Footer) {
	var buf bytes.Buffer
	w := NewWriter(&buf, ft.Kind)
	for _, s := range ft.Sections {
		for b, err := range Batches(data[s.Pos:s.End()]) {
			if err != nil {
				t.Fatalf("verified section has a bad batch: %v", err)
			}
			if _, err := w.WriteBatch(s.Section, b.Raw, b.Meta()); err != nil {
				t.Fatalf("rewriting verified batch: %v", err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := Verify(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatalf("rewritten object fails Verify: %v", err)
	}
	end := ft.DataEnd(int64(len(data)))
	if !bytes.Equal(buf.Bytes()[:end], data[:end]) || len(again.Sections) != len(ft.Sections) {
		t.Fatal("rewritten object differs from the verified one")
	}
	for i, s := range again.Sections {
		s.FirstTimestamp, s.MaxTimestamp = ft.Sections[i].FirstTimestamp, ft.Sections[i].MaxTimestamp
		if s != ft.Sections[i] {
			t.Fatalf("rewritten index %+v, verified %+v", s, ft.Sections[i])
		}
	}
}
