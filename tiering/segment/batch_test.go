package segment

import (
	"bytes"
	"errors"
	"hash/crc32"
	"testing"
)

func TestParseBatch(t *testing.T) {
	b := testBatch(42, 3, 1000, 1005)
	h, err := ParseBatch(b)
	if err != nil {
		t.Fatal(err)
	}
	want := BatchHeader{
		BaseOffset: 42, Length: int32(len(b) - 12), Attributes: Attributes(CodecZstd) | 0x10,
		LastOffsetDelta: 2, FirstTimestamp: 1000, MaxTimestamp: 1005, ProducerID: 7, ProducerEpoch: 1,
		BaseSequence: 3, NumRecords: 3,
	}
	if h != want {
		t.Fatalf("ParseBatch = %+v, want %+v", h, want)
	}
	if h.Attributes.Compression() != CodecZstd || !h.Attributes.Transactional() || h.Attributes.Control() {
		t.Fatalf("attributes decoded as codec %s transactional %v control %v",
			h.Attributes.Compression(), h.Attributes.Transactional(), h.Attributes.Control())
	}
	if h.Size() != len(b) {
		t.Fatalf("Size = %d, batch is %d bytes", h.Size(), len(b))
	}
}

func TestParseBatchRejects(t *testing.T) {
	valid := testBatch(0, 2, 1, 1)
	flipped := bytes.Clone(valid)
	flipped[len(flipped)-1] ^= 1
	short := bytes.Clone(valid)
	short[11] = 10 // length below the v2 minimum
	magic3 := bytes.Clone(valid)
	magic3[batchMagicPos] = 3
	tests := map[string]struct {
		b    []byte
		want error
	}{
		"empty":             {nil, ErrTruncated},
		"length only":       {valid[:12], ErrTruncated},
		"truncated":         {valid[:len(valid)-1], ErrTruncated},
		"trailing bytes":    {append(bytes.Clone(valid), 0), ErrCorrupt},
		"crc mismatch":      {flipped, ErrCorrupt},
		"length too small":  {short, ErrCorrupt},
		"magic 1":           {oldMessage(), ErrOldMessageFormat},
		"magic 3":           {magic3, ErrCorrupt},
		"max length header": {maxLengthBatch(), ErrTruncated},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseBatch(tt.b); !errors.Is(err, tt.want) {
				t.Fatalf("ParseBatch error = %v, want %v", err, tt.want)
			}
		})
	}
}

// maxLengthBatch is a valid batch header whose length field claims 2 GiB.
func maxLengthBatch() []byte {
	b := testBatch(0, 1, 1, 1)
	b[8], b[9], b[10], b[11] = 0x7f, 0xff, 0xff, 0xff
	return b
}

func TestOldFormatDetectedBeforeLength(t *testing.T) {
	// A v0 message is shorter than any v2 batch header; it must still be
	// reported as the old format, not as corrupt.
	b := oldMessage()[:20]
	b[11] = 8
	b[batchMagicPos] = 0
	if _, err := ParseBatch(b); !errors.Is(err, ErrOldMessageFormat) {
		t.Fatalf("ParseBatch error = %v, want ErrOldMessageFormat", err)
	}
}

func TestSetBaseOffsetKeepsCRC(t *testing.T) {
	b := testBatch(0, 4, 1, 1)
	SetBaseOffset(b, 1<<40)
	h, err := ParseBatch(b)
	if err != nil {
		t.Fatalf("ParseBatch after SetBaseOffset: %v", err)
	}
	if h.BaseOffset != 1<<40 {
		t.Fatalf("BaseOffset = %d, want %d", h.BaseOffset, int64(1)<<40)
	}
}

func TestBatches(t *testing.T) {
	batches := [][]byte{testBatch(0, 1, 1, 1), testBatch(1, 3, 2, 2), testBatch(4, 2, 3, 3)}
	all := bytes.Join(batches, nil)
	pos := 0
	i := 0
	for b, err := range Batches(all) {
		if err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		if b.Pos != pos || !bytes.Equal(b.Raw, batches[i]) {
			t.Fatalf("batch %d at %d, want %d with its bytes", i, b.Pos, pos)
		}
		pos += len(b.Raw)
		i++
	}
	if i != len(batches) {
		t.Fatalf("walked %d batches, want %d", i, len(batches))
	}
}

func TestBatchesStopsAtGarbage(t *testing.T) {
	good := testBatch(0, 1, 1, 1)
	all := append(bytes.Clone(good), 1, 2, 3)
	var errs []error
	n := 0
	for b, err := range Batches(all) {
		if err != nil {
			errs = append(errs, err)
			if b.Pos != len(good) {
				t.Fatalf("error at position %d, want %d", b.Pos, len(good))
			}
			continue
		}
		n++
	}
	if n != 1 || len(errs) != 1 || !errors.Is(errs[0], ErrTruncated) {
		t.Fatalf("walked %d batches and errors %v, want 1 batch then ErrTruncated", n, errs)
	}
}

func TestBatchesBreak(t *testing.T) {
	all := bytes.Join([][]byte{testBatch(0, 1, 1, 1), testBatch(1, 1, 1, 1)}, nil)
	n := 0
	for range Batches(all) {
		n++
		break
	}
	if n != 1 {
		t.Fatalf("loop ran %d times after break", n)
	}
}

func TestSetLogAppendTime(t *testing.T) {
	b := testBatch(0, 3, 100, 200)
	SetLogAppendTime(b, 1234567)
	h, err := ParseBatch(b)
	if err != nil {
		t.Fatalf("batch no longer valid: %v", err)
	}
	if !h.Attributes.LogAppendTime() || h.MaxTimestamp != 1234567 {
		t.Fatalf("header = %+v, want log-append time 1234567", h)
	}
}

func TestStoredBatchesSkipOnlyTheCRC(t *testing.T) {
	bad := testBatch(0, 1, 1, 1)
	bad[len(bad)-1] ^= 0xff // a record byte: the CRC no longer matches
	all := append(bytes.Clone(bad), testBatch(1, 2, 2, 2)...)
	for _, err := range Batches(all) {
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Batches of a batch with a bad CRC: %v, want ErrCorrupt", err)
		}
		break
	}
	n := 0
	for _, err := range StoredBatches(all) {
		if err != nil {
			t.Fatalf("StoredBatches: %v", err)
		}
		n++
	}
	if n != 2 {
		t.Fatalf("StoredBatches walked %d batches, want 2", n)
	}
	for _, err := range StoredBatches(append(bytes.Clone(all), 1, 2, 3)) {
		if err != nil && !errors.Is(err, ErrTruncated) {
			t.Fatalf("StoredBatches of trailing garbage: %v, want ErrTruncated", err)
		}
	}
}

func TestExtendCRCMatchesAPassOverTheBytes(t *testing.T) {
	var all []byte
	var crc uint32
	for i, n := range []int{1, 3, 200, 4096, 70000} {
		b := testBatch(int64(i), int32(n), 1, 2)
		all = append(all, b...)
		crc = extendCRC(crc, b)
		if want := crc32.Checksum(all, castagnoli); crc != want {
			t.Fatalf("after batch %d of %d records: CRC %08x, want %08x", i, n, crc, want)
		}
	}
	// Bytes that are not a batch are read whole.
	junk := []byte("not a batch")
	if got, want := extendCRC(crc, junk), crc32.Checksum(append(all, junk...), castagnoli); got != want {
		t.Fatalf("CRC over non-batch bytes %08x, want %08x", got, want)
	}
}
