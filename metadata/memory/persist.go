package memory

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
)

const (
	logName = "metadata.log"
	// logVersion is the version the first record of a log declares.
	logVersion = 1
	// headerLen is the length and CRC in front of each record.
	headerLen = 8
	// maxRecord bounds one record so that a damaged length cannot make
	// Open allocate without bound; a commit of a full flush is far smaller.
	maxRecord = 64 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// wal is the append-only log of a persistent store.
type wal struct {
	f      *os.File
	unlock func() error
	size   int64 // bytes of whole, synced records
	// err, once set, fails every later append: after a failed fsync the
	// file's contents are unknown, so nothing more may be acknowledged.
	err error
}

// Open returns a store kept in dir, creating dir if needed, with the state
// its log holds. Only one process may have dir open at a time.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating metadata directory: %w", err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s, err := openLocked(dir, unlock)
	if err != nil {
		return nil, errors.Join(err, unlock())
	}
	return s, nil
}

func openLocked(dir string, unlock func() error) (*Store, error) {
	path := filepath.Join(dir, logName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening metadata log: %w", err)
	}
	s := New()
	s.wal = &wal{f: f, unlock: unlock}
	if err := s.load(dir); err != nil {
		return nil, errors.Join(fmt.Errorf("loading %s: %w", path, err), f.Close())
	}
	return s, nil
}

// load replays the log, drops a torn last record and, for a new log, writes
// the version record.
func (s *Store) load(dir string) error {
	data, err := io.ReadAll(s.wal.f)
	if err != nil {
		return fmt.Errorf("reading: %w", err)
	}
	good, err := s.replay(data)
	if err != nil {
		return err
	}
	s.wal.size = int64(good)
	if good < len(data) {
		if err := s.wal.truncate(); err != nil {
			return fmt.Errorf("dropping a torn last record: %w", err)
		}
	}
	if good == 0 {
		if err := s.wal.append(mutation{Version: logVersion}); err != nil {
			return fmt.Errorf("starting log: %w", err)
		}
	}
	return syncDir(dir) // makes the file's creation itself durable
}

// replay applies every whole record of data and returns the length of
// data that held them.
func (s *Store) replay(data []byte) (int, error) {
	off := 0
	for off < len(data) {
		payload, n, err := readRecord(data[off:])
		if errors.Is(err, errTorn) {
			return off, nil
		}
		if err != nil {
			return 0, fmt.Errorf("record at byte %d: %w", off, err)
		}
		var m mutation
		if err := json.Unmarshal(payload, &m); err != nil {
			return 0, fmt.Errorf("decoding record at byte %d: %w: %w", off, ErrCorrupt, err)
		}
		if (off == 0) != (m.Version != 0) || (off == 0 && m.Version != logVersion) {
			return 0, fmt.Errorf("record at byte %d: version %d, want %d first and only first: %w",
				off, m.Version, logVersion, ErrCorrupt)
		}
		s.apply(m)
		off += n
	}
	return off, nil
}

// errTorn marks a damaged record with nothing after it but zeros: the
// trace of a write a crash cut short, not corruption.
var errTorn = errors.New("torn record")

// readRecord returns the first record of data and its length on disk. A
// crash mid-write leaves a prefix of the record, or zeros where the
// filesystem had not written yet; anything else is corruption.
func readRecord(data []byte) ([]byte, int, error) {
	if len(data) < headerLen {
		return nil, 0, errTorn
	}
	n := binary.BigEndian.Uint32(data)
	size := headerLen + int(n)
	switch {
	case n == 0 && allZero(data):
		return nil, 0, errTorn
	case n == 0 || n > maxRecord:
		return nil, 0, fmt.Errorf("record length %d: %w", n, ErrCorrupt)
	case size > len(data):
		return nil, 0, errTorn
	case crc32.Checksum(data[headerLen:size], castagnoli) != binary.BigEndian.Uint32(data[4:]):
		if allZero(data[size:]) {
			return nil, 0, errTorn
		}
		return nil, 0, fmt.Errorf("checksum mismatch with records after it: %w", ErrCorrupt)
	}
	return data[headerLen:size], size, nil
}

func allZero(b []byte) bool { return len(bytes.TrimLeft(b, "\x00")) == 0 }

// append writes m as one record and syncs it. A failed write is undone so
// that the next record follows a whole one.
func (w *wal) append(m mutation) error {
	if w.err != nil {
		return w.err
	}
	payload, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encoding: %w", err)
	}
	rec := make([]byte, headerLen+len(payload))
	binary.BigEndian.PutUint32(rec, uint32(len(payload)))
	binary.BigEndian.PutUint32(rec[4:], crc32.Checksum(payload, castagnoli))
	copy(rec[headerLen:], payload)
	if _, err := w.f.Write(rec); err != nil {
		return errors.Join(fmt.Errorf("writing: %w", err), w.truncate())
	}
	if err := w.f.Sync(); err != nil {
		w.err = fmt.Errorf("metadata log unusable after a failed fsync, restart to reload it: %w", err)
		return w.err
	}
	w.size += int64(len(rec))
	return nil
}

// truncate cuts the file back to its whole records; if it cannot, the log
// is unusable.
func (w *wal) truncate() error {
	err := w.f.Truncate(w.size)
	if err == nil {
		err = w.f.Sync()
	}
	if err != nil {
		w.err = fmt.Errorf("metadata log unusable after a failed truncate, restart to reload it: %w", err)
	}
	return err
}

func (w *wal) close() error {
	return errors.Join(w.f.Close(), w.unlock())
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing directory: %w", err)
	}
	return errors.Join(d.Sync(), d.Close())
}
