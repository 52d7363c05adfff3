package monitor

import (
	"context"
	"sync"

	"chalkcast/engine"
)

// lane carries one reader's packets to a decoder on the engine's pool, one
// batch at a time, so that a stream's decoder is never used by two
// workers at once. Packets wait in the lane while the pool is busy; when
// more than limit wait, the lane drops them all and tells run (which then
// waits for a keyframe). The reader never waits for the decoder.
type lane struct {
	pool  *engine.Pool
	limit int
	run   func(batch []*engine.Packet, dropped bool)

	mu      sync.Mutex
	pending []*engine.Packet
	spare   []*engine.Packet
	dropped bool
	busy    bool
	final   func() // runs after the last batch (see finish)
}

func newLane(pool *engine.Pool, limit int, run func([]*engine.Packet, bool)) *lane {
	return &lane{pool: pool, limit: limit, run: run}
}

// push queues packets and starts a worker unless one is on its way.
func (l *lane) push(pkts []*engine.Packet) {
	l.mu.Lock()
	l.pending = append(l.pending, pkts...)
	if len(l.pending) > l.limit {
		clear(l.pending)
		l.pending = l.pending[:0]
		l.dropped = true
	}
	start := !l.busy && len(l.pending) > 0
	l.busy = l.busy || start
	l.mu.Unlock()
	if start && l.pool.TrySubmit(l.work) != nil {
		l.mu.Lock()
		l.busy = false // the pool is full: the next push tries again
		final := l.final
		l.final = nil
		l.mu.Unlock()
		if final != nil {
			final() // nothing more will be pushed
		}
	}
}

// finish runs f once the batches on their way are decoded, and never
// again a batch: the reader has stopped pushing. f frees the decoder.
func (l *lane) finish(f func()) {
	l.mu.Lock()
	if l.busy {
		l.final = f
		l.mu.Unlock()
		return
	}
	l.busy = true
	l.mu.Unlock()
	f()
}

// work decodes what is pending and hands the worker back.
func (l *lane) work() {
	l.mu.Lock()
	batch, dropped := l.pending, l.dropped
	l.pending, l.spare, l.dropped = l.spare[:0], batch, false
	l.mu.Unlock()
	l.run(batch, dropped)
	clear(batch)
	l.mu.Lock()
	l.busy = false
	again := len(l.pending) > 0
	final := l.final
	if again {
		final = nil
	} else {
		l.final = nil
	}
	l.busy = final != nil
	l.mu.Unlock()
	switch {
	case final != nil:
		final()
	case again:
		l.push(nil)
	}
}

// feed reads rd into the lane until ctx ends or the stream's ring ends,
// keeping only the packets keep wants.
func feed(ctx context.Context, rd *engine.Reader, l *lane, keep func(*engine.Packet) bool) {
	defer rd.Close()
	var buf, kept []*engine.Packet
	for {
		var err error
		buf, err = rd.Next(ctx, buf[:0])
		kept = kept[:0]
		for _, p := range buf {
			if keep(p) {
				kept = append(kept, p)
			}
		}
		if len(kept) > 0 {
			l.push(kept)
		}
		clear(buf)
		if err != nil {
			return
		}
	}
}
