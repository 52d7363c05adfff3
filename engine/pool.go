package engine

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// ErrPoolFull is returned by TrySubmit when every worker is busy and the
// queue is full: the caller decides whether to drop the work (and count it)
// or wait with Submit.
var ErrPoolFull = errors.New("engine: worker pool is full")

// ErrPoolClosed is returned once the pool has been closed.
var ErrPoolClosed = errors.New("engine: worker pool is closed")

// Pool runs short tasks on a fixed number of goroutines with a bounded
// queue. Everything the engine, sources and outputs do that is not
// per-connection I/O (stats sampling, grace-period expiry, encoding and
// transcoding) runs here, so that CPU work is bounded by the pool size and
// never by the number of streams or viewers.
type Pool struct {
	tasks    chan func()
	done     chan struct{}
	wg       sync.WaitGroup
	closeMu  sync.RWMutex
	closed   bool
	rejected atomic.Uint64
}

// NewPool starts workers goroutines (at least 1) with a queue of queue
// tasks (at least workers).
func NewPool(workers, queue int) *Pool {
	if workers < 1 {
		workers = 1
	}
	if queue < workers {
		queue = workers
	}
	p := &Pool{tasks: make(chan func(), queue), done: make(chan struct{})}
	p.wg.Add(workers)
	for range workers {
		go p.work()
	}
	return p
}

func (p *Pool) work() {
	defer p.wg.Done()
	for {
		select {
		case t := <-p.tasks:
			t()
		case <-p.done:
			return
		}
	}
}

// TrySubmit queues t without waiting.
func (p *Pool) TrySubmit(t func()) error {
	p.closeMu.RLock()
	defer p.closeMu.RUnlock()
	if p.closed {
		return ErrPoolClosed
	}
	select {
	case p.tasks <- t:
		return nil
	default:
		p.rejected.Add(1)
		return ErrPoolFull
	}
}

// Submit queues t, waiting for room until ctx ends.
func (p *Pool) Submit(ctx context.Context, t func()) error {
	p.closeMu.RLock()
	defer p.closeMu.RUnlock()
	if p.closed {
		return ErrPoolClosed
	}
	select {
	case p.tasks <- t:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Rejected counts TrySubmit calls refused because the pool was full.
func (p *Pool) Rejected() uint64 { return p.rejected.Load() }

// Close stops the workers after the task each is running and waits for
// them. Queued tasks that have not started are dropped.
func (p *Pool) Close() {
	p.closeMu.Lock()
	if p.closed {
		p.closeMu.Unlock()
		return
	}
	p.closed = true
	close(p.done)
	p.closeMu.Unlock()
	p.wg.Wait()
}
