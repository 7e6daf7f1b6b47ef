package produce

import (
	"github.com/sluicehq/sluice/metadata"
)

// flushReason says why a flush was sealed; a metric label.
type flushReason string

const (
	reasonSize     flushReason = "size"
	reasonAge      flushReason = "age"
	reasonShutdown flushReason = "shutdown"
)

var flushReasons = []flushReason{reasonSize, reasonAge, reasonShutdown}

// ref points at one batch of one pending Append.
type ref struct {
	p   *pending
	idx int
}

// section is one partition's batches in a flush, in arrival order.
type section struct {
	topic string
	part  metadata.Partition
	refs  []ref
}

// flush is the open buffer: every partition's batches, grouped so that an
// object holds each partition's bytes contiguously.
type flush struct {
	seq      uint64
	key      string
	sections []*section
	byPart   map[metadata.Partition]*section
	waiters  []*pending
	bytes    int
}

func newFlush() *flush {
	return &flush{byPart: make(map[metadata.Partition]*section)}
}

func (f *flush) empty() bool { return len(f.waiters) == 0 }

func (f *flush) add(p *pending) {
	f.waiters = append(f.waiters, p)
	for i := range p.batches {
		b := &p.batches[i]
		s := f.byPart[b.Partition]
		if s == nil {
			s = &section{topic: b.Topic, part: b.Partition}
			f.byPart[b.Partition] = s
			f.sections = append(f.sections, s)
		}
		s.refs = append(s.refs, ref{p: p, idx: i})
		f.bytes += len(b.Data)
	}
}

// release drops the flush's references to its batches' bytes once they are
// encoded: while the upload runs, the produce requests they came from can
// then be collected, and a flush is held once, not twice. Its bytes stay
// counted against BufferBytes until it is answered.
func (f *flush) release() {
	for _, p := range f.waiters {
		for i := range p.batches {
			p.batches[i].Data = nil
		}
	}
}

// finish hands every waiter its results, or err for all of them.
func (f *flush) finish(err error) {
	for _, p := range f.waiters {
		if err != nil {
			p.done(nil, err)
			continue
		}
		p.done(p.results, nil)
	}
}
