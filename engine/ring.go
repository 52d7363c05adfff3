package engine

import (
	"context"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// ring is the bounded packet history of one publishing generation of a
// stream. The publisher appends without ever waiting; readers hold cursors
// (sequence numbers) and copy packet pointers out under a read lock. A ring
// ends when the stream's grace period expires or the stream is deleted;
// readers then get io.EOF after draining.
type ring struct {
	mu       sync.RWMutex
	buf      []*Packet
	mask     uint64
	head     uint64 // sequence number of the next packet
	keySeq   uint64 // sequence number of the newest video keyframe
	haveKey  bool
	hasVideo bool
	hasAudio bool
	held     bool             // a video packet waits for the next wake-up
	release  *time.Timer      // wakes readers wakeEvery after the last wake-up, when held
	lastDTS  [2]time.Duration // per track, for monotonic timestamps
	started  [2]bool
	newest   time.Duration // largest DTS appended
	notify   chan struct{}
	eager    chan struct{} // closed on every packet, while eagers > 0
	eagers   int           // readers woken for every packet
	ended    bool
	lastWake time.Time

	// maxHold bounds how long an audio packet may wait for the next
	// video packet before readers are woken, and wakeEvery how often at
	// most a stream with both is woken (see append).
	maxHold, wakeEvery time.Duration
}

func newRing(size int, maxHold, wakeEvery time.Duration) *ring {
	n := 1
	for n < size {
		n <<= 1
	}
	return &ring{
		buf:       make([]*Packet, n),
		mask:      uint64(n - 1),
		notify:    make(chan struct{}),
		eager:     make(chan struct{}),
		maxHold:   maxHold,
		wakeEvery: wakeEvery,
	}
}

// append adds p and wakes readers. To keep per-viewer wake-ups (and so
// syscalls) below the packet rate, an audio packet of a stream that has
// video only wakes readers when the last wake-up is older than maxHold;
// otherwise it leaves with the next video frame in the same batched write.
// And a stream with both wakes them at most every wakeEvery: a video
// frame that comes sooner is held, and leaves with the first packet after
// wakeEvery, the audio that comes within an audio packet's length.
//
// append first makes p's timestamps monotonic (see monotonic), under the
// same lock.
func (r *ring) append(p *Packet, now time.Time) {
	r.mu.Lock()
	if r.ended {
		r.mu.Unlock()
		return
	}
	r.monotonic(p)
	seq := r.head
	r.buf[seq&r.mask] = p
	r.head++
	if p.Track == TrackAudio {
		r.hasAudio = true
	}
	if p.Track == TrackVideo {
		r.hasVideo = true
		if p.Keyframe {
			r.keySeq, r.haveKey = seq, true
		}
	}
	if p.DTS > r.newest {
		r.newest = p.DTS
	}
	var wake bool
	since := now.Sub(r.lastWake)
	paced := r.hasVideo && r.hasAudio && since < r.wakeEvery
	switch {
	case p.Track == TrackVideo:
		wake = !paced
		if paced && !r.held {
			r.hold(r.wakeEvery - since)
		}
	default:
		wake = !r.hasVideo || since >= r.maxHold || (r.held && !paced)
	}
	var woken, eager chan struct{}
	if wake {
		woken = r.wakeLocked(now)
	}
	if r.eagers > 0 {
		eager, r.eager = r.eager, make(chan struct{})
	}
	r.mu.Unlock()
	if woken != nil {
		close(woken)
	}
	if eager != nil {
		close(eager)
	}
}

// hold keeps a video packet from readers for at most d: the next packet
// after it, or the release timer, wakes them. The caller holds r.mu.
func (r *ring) hold(d time.Duration) {
	r.held = true
	if r.release == nil {
		r.release = time.AfterFunc(d, func() {
			r.mu.Lock()
			var woken chan struct{}
			if r.held && !r.ended {
				woken = r.wakeLocked(time.Now())
			}
			r.mu.Unlock()
			if woken != nil {
				close(woken)
			}
		})
		return
	}
	r.release.Reset(d)
}

// wakeLocked replaces the notify channel and returns the old one, for the
// caller to close once it released r.mu.
func (r *ring) wakeLocked(now time.Time) chan struct{} {
	woken := r.notify
	r.notify, r.held, r.lastWake = make(chan struct{}), false, now
	return woken
}

// end marks the ring finished and wakes every reader.
func (r *ring) end() {
	r.mu.Lock()
	if r.ended {
		r.mu.Unlock()
		return
	}
	r.ended = true
	if r.release != nil {
		r.release.Stop()
	}
	close(r.notify)
	close(r.eager)
	r.mu.Unlock()
}

// monotonic adjusts a packet's timestamps so that each track's DTS never
// goes backwards and never below zero, and PTS is never before DTS. The
// caller holds r.mu.
func (r *ring) monotonic(p *Packet) {
	t := p.Track & 1
	if r.started[t] && p.DTS < r.lastDTS[t] {
		p.PTS += r.lastDTS[t] - p.DTS
		p.DTS = r.lastDTS[t]
	}
	if p.DTS < 0 {
		p.PTS -= p.DTS
		p.DTS = 0
	}
	if p.PTS < p.DTS {
		p.PTS = p.DTS
	}
	r.lastDTS[t], r.started[t] = p.DTS, true
}

// latestDTS is the largest DTS appended so far and whether any was.
func (r *ring) latestDTS() (time.Duration, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.newest, r.head > 0
}

// Reader is one consumer's cursor on a stream. It is used by one goroutine.
type Reader struct {
	ring    *ring
	cursor  uint64
	needKey bool
	eager   bool
	maxLag  time.Duration
	maxBat  int
	viewer  *Viewer
	skips   atomic.Uint64
	onClose func()
	closed  bool
}

// newReader places a new reader at the newest keyframe (the GOP cache), so that
// it can decode at once; without one yet, it waits for the next keyframe.
func (r *ring) newReader(maxLag time.Duration, maxBatch int) *Reader {
	r.mu.RLock()
	defer r.mu.RUnlock()
	rd := &Reader{ring: r, maxLag: maxLag, maxBat: maxBatch}
	switch {
	case r.haveKey && r.head-r.keySeq <= uint64(len(r.buf)):
		rd.cursor = r.keySeq
	default:
		rd.cursor = r.head
		rd.needKey = true
	}
	return rd
}

// Next appends to dst the packets that are ready, waiting until at least
// one is or ctx ends. It returns io.EOF once the stream has ended and
// everything before the end was read. A reader that fell behind by more
// than the ring or the lag bound jumps to the newest keyframe and the skip
// is counted.
func (rd *Reader) Next(ctx context.Context, dst []*Packet) ([]*Packet, error) {
	for {
		out, wait, err := rd.TryNext(dst)
		if err != nil || len(out) > 0 {
			return out, err
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return dst, ctx.Err()
		}
	}
}

// TryNext is Next without waiting: it appends the packets that are ready
// to dst, or, when there are none, returns a channel that is closed when
// there may be. It lets a caller wait for packets and its own events in one
// select without a goroutine or a context per wait.
func (rd *Reader) TryNext(dst []*Packet) ([]*Packet, <-chan struct{}, error) {
	r := rd.ring
	r.mu.RLock()
	defer r.mu.RUnlock()
	for rd.cursor < r.head {
		rd.skipIfBehind()
		for rd.cursor < r.head && len(dst) < rd.maxBat {
			p := r.buf[rd.cursor&r.mask]
			rd.cursor++
			if rd.needKey && r.hasVideo && (p.Track != TrackVideo || !p.Keyframe) {
				continue
			}
			rd.needKey = false
			dst = append(dst, p)
		}
		if len(dst) > 0 {
			return dst, nil, nil
		}
	}
	if r.ended {
		return dst, nil, io.EOF
	}
	if rd.eager {
		return dst, r.eager, nil
	}
	return dst, r.notify, nil
}

// Eager has the reader woken for every packet instead of at most every
// Config.WakeEvery: for a viewer that sends each packet on its own anyway
// (WebRTC's UDP), where waking in batches only adds delay.
func (rd *Reader) Eager() {
	r := rd.ring
	r.mu.Lock()
	if !rd.eager {
		rd.eager = true
		r.eagers++
	}
	r.mu.Unlock()
}

// skipIfBehind is called with the read lock held and rd.cursor < head.
func (rd *Reader) skipIfBehind() {
	r := rd.ring
	behind := r.head-rd.cursor > uint64(len(r.buf))
	if !behind && rd.maxLag > 0 && r.haveKey && r.keySeq > rd.cursor {
		// Lagging only matters when there is a newer keyframe to jump to:
		// a reader at the newest keyframe of a long GOP (a new viewer on
		// the GOP cache) goes on from there.
		behind = r.newest-r.buf[rd.cursor&r.mask].DTS > rd.maxLag
	}
	if !behind {
		return
	}
	if r.haveKey && r.keySeq > rd.cursor && r.head-r.keySeq <= uint64(len(r.buf)) {
		rd.cursor = r.keySeq
	} else {
		rd.cursor = r.head
		rd.needKey = true
	}
	rd.skips.Add(1)
	if rd.viewer != nil {
		rd.viewer.skips.Add(1)
	}
}

// Skips is how many times this reader fell behind and jumped ahead.
func (rd *Reader) Skips() uint64 { return rd.skips.Load() }

// Close releases the reader (and its viewer slot, if it has one).
func (rd *Reader) Close() {
	if rd.closed {
		return
	}
	rd.closed = true
	if rd.eager {
		rd.ring.mu.Lock()
		rd.ring.eagers--
		rd.ring.mu.Unlock()
	}
	if rd.onClose != nil {
		rd.onClose()
	}
}
