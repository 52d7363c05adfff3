package engine

import (
	"sync/atomic"
	"time"
)

// Publisher is a source's handle for writing packets into a stream.
// It is used by one goroutine.
type Publisher struct {
	s      *Stream
	ring   *ring
	src    SourceInfo
	offset time.Duration
	based  bool
	// awaitKey holds back the video of a publisher that continues a ring
	// (a returning sender, a replaced source) until its first keyframe:
	// frames that refer to an earlier one would show as garbage.
	awaitKey bool
	lastPTS  time.Duration // of the latest video packet
	anyVideo bool
	closed   atomic.Bool
	keyframe atomic.Pointer[func()]
}

// OnKeyframeRequest says how the source makes a keyframe now (an
// encoder's forced IDR); Stream.RequestKeyframe calls it.
func (p *Publisher) OnKeyframeRequest(f func()) { p.keyframe.Store(&f) }

// WritePacket hands p to every reader. It never waits for a reader. The
// engine owns p afterwards: the caller must not modify it or its payload.
func (p *Publisher) WritePacket(pkt *Packet) {
	if p.closed.Load() {
		return
	}
	if p.awaitKey && pkt.Track == TrackVideo {
		if !pkt.Keyframe {
			return
		}
		p.awaitKey = false
	}
	if !p.based {
		// The first packet of a publishing session sets the timestamp base:
		// a fresh stream starts at zero, a returning publisher continues
		// just after the newest packet viewers already have.
		p.based = true
		if last, ok := p.ring.latestDTS(); ok {
			p.offset = last + 40*time.Millisecond - pkt.DTS
		} else {
			p.offset = -pkt.DTS
		}
	}
	pkt.DTS += p.offset
	pkt.PTS += p.offset
	c := &p.s.c
	if pkt.Track == TrackVideo {
		if p.anyVideo && pkt.PTS < p.lastPTS && !c.reordered.Load() {
			c.reordered.Store(true)
		}
		p.lastPTS, p.anyVideo = pkt.PTS, true
	}
	if pkt.Track == TrackAudio && c.muted.Load() && !p.silence(pkt) {
		return // muted, and no silence can be made for this codec
	}
	// Counters and configurations first, so that a reader that gets this
	// packet already finds it counted and its track announced.
	c.bytesIn.Add(uint64(len(pkt.Payload)))
	if pkt.Track == TrackVideo {
		c.videoFrames.Add(1)
	} else {
		c.audioFrms.Add(1)
	}
	if pkt.Config != nil {
		cfg := &c.audioCfg
		if pkt.Track == TrackVideo {
			cfg = &c.videoCfg
		}
		if cfg.Load() != pkt.Config {
			cfg.Store(pkt.Config)
		}
	}
	now := time.Now()
	pkt.Published = now
	p.ring.append(pkt, now) // also makes the timestamps monotonic

	// The packet is shared now and only read; its timestamps are final,
	// which the keyframe interval needs.
	if pkt.Track == TrackVideo && pkt.Keyframe {
		if prev := c.lastKeyDTS.Swap(int64(pkt.DTS) + 1); prev > 0 && int64(pkt.DTS)+1 > prev {
			c.keyInterval.Store(int64(pkt.DTS) + 1 - prev)
		}
	}
}

// Reordered reports whether the stream's publisher sends pictures out of
// presentation order (B-frames): WebRTC players cannot show them.
func (s *Stream) Reordered() bool { return s.c.reordered.Load() }

// DropFrames counts frames a source captured but did not encode because
// its encoder was still busy with an earlier one: dropping keeps latency
// low when the machine is too slow for the chosen quality.
func (p *Publisher) DropFrames(n int) { p.s.c.dropped.Add(int64(n)) }

// EncodeLatency records how long one frame took from capture to packet.
func (p *Publisher) EncodeLatency(d time.Duration) {
	c := &p.s.c
	c.encoding.Store(true)
	c.latSum.Add(int64(d))
	c.latN.Add(1)
	for {
		m := c.latMax.Load()
		if int64(d) <= m || c.latMax.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// SetConfig announces a track's codec configuration as soon as the source
// knows it (for example from a sequence header), so that viewers joining
// before the first packet already know which tracks the stream has.
func (p *Publisher) SetConfig(t Track, cfg *CodecConfig) {
	if t == TrackVideo {
		p.s.c.videoCfg.Store(cfg)
	} else {
		p.s.c.audioCfg.Store(cfg)
	}
}

// Close ends the publishing session. With a nil reason the publisher left
// cleanly; otherwise reason is shown as the stream's last error. Either way
// the stream waits for the grace period before ending its viewers.
func (p *Publisher) Close(reason error) {
	if p.closed.Swap(true) {
		return
	}
	s := p.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pub != p {
		return
	}
	s.pub = nil
	if reason != nil {
		s.lastErr = reason.Error()
		s.publish(Event{Kind: EventSourceError, Stream: s.name, Error: s.lastErr})
	}
	if s.deleted {
		return
	}
	s.state = StateReconnecting
	s.publish(Event{Kind: EventStreamReconnecting, Stream: s.name})
	s.graceGen++
	gen := s.graceGen
	s.grace = time.AfterFunc(s.hub.cfg.GracePeriod, func() {
		// Expiry runs on the pool like other engine housekeeping; if the
		// hub is closing, Close ends the ring itself.
		_ = s.hub.pool.Submit(s.hub.ctx, func() { s.expire(gen) })
	})
}

// Closed reports whether the publisher was closed (for example because its
// key was reset); sources stop reading their input when it is.
func (p *Publisher) Closed() bool { return p.closed.Load() }
