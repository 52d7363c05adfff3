package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// State is a stream's life-cycle state.
type State string

// Stream states.
const (
	StateIdle         State = "idle"         // created, nobody publishing
	StateLive         State = "live"         // a publisher is sending
	StateReconnecting State = "reconnecting" // publisher gone, within the grace period
	StateError        State = "error"        // not publishing; the source failed (see the last error)
)

// Active reports whether the stream has media for viewers: live, or
// waiting within the grace period for its publisher to come back.
func (st State) Active() bool { return st == StateLive || st == StateReconnecting }

// Errors callers turn into protocol answers.
var (
	ErrNotFound = errors.New("stream not found")
	ErrNotLive  = errors.New("stream is not live")
	ErrBusy     = errors.New("stream already has a publisher")
	ErrLimit    = errors.New("limit reached")
	ErrExists   = errors.New("stream already exists")
	ErrStopped  = errors.New("stream is stopped")
)

// Stream is one named stream: at most one publisher, any number of readers.
type Stream struct {
	hub  *Hub
	name string

	mu         sync.Mutex
	cfg        StreamConfig
	state      State
	ring       *ring
	pub        *Publisher
	grace      *time.Timer
	graceGen   uint64 // which grace period a queued expiry belongs to
	liveSince  time.Time
	endedAt    time.Time // when it was last live, if it has been since it was made (or the server started)
	lastErr    string
	deleted    bool
	detached   bool // not the hub's: publishes no events (Hub.Detached)
	standby    bool
	viewers    map[uint64]*Viewer
	nextViewer uint64
	peak       int
	history    []Sample // ring of StatsHistory samples, oldest at histPos
	histPos    int
	prevIn     uint64 // counters at the previous sample
	prevFrames uint64
	prevAt     time.Time

	c counters
}

// counters are updated where the bytes flow; read by the stats sampler.
type counters struct {
	bytesIn, bytesOut      atomic.Uint64
	videoFrames, audioFrms atomic.Uint64
	keyInterval            atomic.Int64 // media time between the last two keyframes
	lastKeyDTS             atomic.Int64 // DTS+1 of the newest keyframe; 0 before the first
	videoCfg, audioCfg     atomic.Pointer[CodecConfig]
	skips                  atomic.Uint64
	// sources that encode: frames dropped, and capture-to-packet latency
	// (summed and counted since the last sample, and its maximum)
	dropped, latSum, latN, latMax atomic.Int64
	demandAt                      atomic.Int64 // unix ns of the latest Demand
	keyAsked                      atomic.Int64 // unix ns of the latest keyframe request passed on
	encoding                      atomic.Bool
	reordered                     atomic.Bool // the publisher's video has B-frames
	muted                         atomic.Bool
	level                         atomic.Pointer[AudioLevel]
	silent                        atomic.Pointer[string] // why students hear nothing; nil while they hear sound
	// last one-second sample, for cheap reads
	bitrate, fps    atomic.Uint64 // bits/s, millifps
	latAvg, latPeak atomic.Int64  // encode latency of the last window
}

func newStream(h *Hub, cfg StreamConfig) *Stream {
	s := &Stream{
		hub:     h,
		name:    cfg.Name,
		cfg:     cfg,
		state:   StateIdle,
		viewers: map[uint64]*Viewer{},
		history: make([]Sample, 0, h.cfg.StatsHistory),
	}
	s.c.muted.Store(cfg.Muted)
	return s
}

// publish tells the hub's subscribers what happened to the stream.
func (s *Stream) publish(e Event) {
	if !s.detached {
		s.hub.events.publish(e)
	}
}

// Name is the stream's public name.
func (s *Stream) Name() string { return s.name }

// Config returns a copy of the stream's persisted configuration.
func (s *Stream) Config() StreamConfig {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg
}

// State returns the current state.
func (s *Stream) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// SourceInfo describes a publisher for statistics (the stream's
// "publisher").
type SourceInfo struct {
	Protocol string `json:"protocol"`         // "rtmp", "rtsp", "testpattern"...
	Remote   string `json:"remote,omitempty"` // remote address, if any
}

// Publish makes p the stream's publisher. A stream has one publisher at a
// time; a publisher that returns within the grace period continues the same
// ring, so viewers stay connected and timestamps stay monotonic.
func (s *Stream) Publish(src SourceInfo) (*Publisher, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.deleted {
		return nil, ErrNotFound
	}
	if s.pub != nil {
		return nil, ErrBusy
	}
	if s.cfg.Stopped {
		return nil, ErrStopped
	}
	continuing := s.state == StateReconnecting && s.ring != nil
	if s.grace != nil {
		s.grace.Stop()
		s.grace = nil
	}
	if !continuing {
		s.ring = newRing(s.hub.cfg.RingPackets, s.hub.cfg.AudioHold, s.hub.cfg.WakeEvery)
		s.liveSince = time.Now()
		s.c.videoCfg.Store(nil)
		s.c.audioCfg.Store(nil)
		s.c.keyInterval.Store(0)
		s.c.lastKeyDTS.Store(0)
		s.c.encoding.Store(false)
		s.c.dropped.Store(0)
		s.c.latAvg.Store(0)
		s.c.latPeak.Store(0)
		s.c.level.Store(nil)
		s.c.silent.Store(nil)
	}
	s.c.reordered.Store(false) // a returning publisher may have new settings
	p := &Publisher{s: s, ring: s.ring, src: src, awaitKey: continuing}
	s.pub = p
	s.state = StateLive
	s.lastErr = ""
	s.publish(Event{Kind: EventStreamLive, Stream: s.name})
	return p, nil
}

// expire ends the stream's ring if nobody came back within grace period
// gen. An expiry queued for an earlier grace period (the publisher came
// back and left again meanwhile) does nothing.
func (s *Stream) expire(gen uint64) {
	s.mu.Lock()
	if s.graceGen != gen || s.pub != nil || s.deleted || s.ring == nil {
		s.mu.Unlock()
		return
	}
	s.endLocked("publisher did not return within the grace period")
	s.mu.Unlock()
}

// endLocked ends the current ring; readers drain and get io.EOF.
func (s *Stream) endLocked(why string) {
	if s.ring != nil {
		s.ring.end()
		s.ring = nil
	}
	if s.grace != nil {
		s.grace.Stop()
		s.grace = nil
	}
	s.state = StateIdle
	if s.lastErr != "" {
		s.state = StateError
	}
	if !s.liveSince.IsZero() {
		s.endedAt = time.Now()
	}
	s.liveSince = time.Time{}
	s.publish(Event{Kind: EventStreamEnded, Stream: s.name, Error: why})
}

// SourceFailed records why a stream's source could not start or stopped
// (a camera unplugged, a device busy): the reason becomes the stream's last
// error, and a stream that is not publishing or waiting for its publisher
// to return shows the error state until the source is live again.
func (s *Stream) SourceFailed(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.deleted || s.cfg.Stopped {
		return
	}
	s.lastErr = err.Error()
	if s.state == StateIdle {
		s.state = StateError
	}
	s.publish(Event{Kind: EventSourceError, Stream: s.name, Error: s.lastErr})
}

// SetStandby says whether the stream's source is waiting for a viewer
// before it connects (an IP camera in on-demand mode). Outputs asked for a
// stream on standby wait a moment for it (see AwaitLive), and the share page
// starts its player rather than saying the class has not started.
func (s *Stream) SetStandby(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.standby = on
}

// Standby reports whether the stream's source waits for a viewer before
// it connects.
func (s *Stream) Standby() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.standby
}

// KeyframeEvery bounds how often RequestKeyframe passes a request on: a
// keyframe is several times the size of other frames, and every viewer
// that lost a packet asks.
const KeyframeEvery = time.Second

// RequestKeyframe asks the stream's source for a keyframe (a WebRTC
// viewer that lost part of a picture), at most once per KeyframeEvery,
// and reports whether the source was asked: a source that cannot make
// keyframes on request (a pushed or pulled stream) is not.
func (s *Stream) RequestKeyframe() bool {
	s.mu.Lock()
	p := s.pub
	s.mu.Unlock()
	if p == nil || p.closed.Load() {
		return false
	}
	f := p.keyframe.Load()
	if f == nil {
		return false
	}
	now := time.Now().UnixNano()
	last := s.c.keyAsked.Load()
	if now-last < int64(KeyframeEvery) || !s.c.keyAsked.CompareAndSwap(last, now) {
		return false
	}
	(*f)()
	return true
}

// Demand records that somebody wants to watch now (a player asked for the
// stream, the share page is open).
func (s *Stream) Demand() { s.c.demandAt.Store(time.Now().UnixNano()) }

// Demanded reports whether the stream has viewers or was demanded within
// the last window: what an on-demand source connects and stays for.
func (s *Stream) Demanded(window time.Duration) bool {
	s.mu.Lock()
	n := len(s.viewers)
	s.mu.Unlock()
	return n > 0 || time.Since(time.Unix(0, s.c.demandAt.Load())) < window
}

// AwaitStart is how long outputs let a player wait for an on-demand
// source to connect (see AwaitLive).
const AwaitStart = 8 * time.Second

// AwaitLive demands a stream on standby and waits up to d (or until ctx
// ends) for it to have media; for any other stream it returns at once.
// Outputs call it before NewReader so that a player asking for an
// on-demand camera gets video instead of "not live".
func (s *Stream) AwaitLive(ctx context.Context, d time.Duration) {
	s.mu.Lock()
	wait := s.standby && s.ring == nil
	s.mu.Unlock()
	if !wait {
		return
	}
	s.Demand()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.mu.Lock()
		ready := s.ring != nil
		s.mu.Unlock()
		if ready {
			return
		}
	}
}

// ViewerInfo describes a viewer for statistics.
type ViewerInfo struct {
	Protocol string // "flv", "hls", "rtmp", "rtsp"
	Remote   string // remote address
	// Agent is the client's user agent, if it sent one.
	Agent string
}

// NewReader returns a cursor on the live stream positioned at the newest
// keyframe. v, if not nil, is credited with the reader's skips. It fails
// with ErrNotLive when nobody is publishing and no grace period is running.
func (s *Stream) NewReader(v *Viewer) (*Reader, error) {
	s.mu.Lock()
	r := s.ring
	s.mu.Unlock()
	if r == nil {
		return nil, fmt.Errorf("stream %s: %w", s.name, ErrNotLive)
	}
	rd := r.newReader(s.hub.cfg.MaxLag, s.hub.cfg.MaxBatch)
	rd.viewer = v
	return rd, nil
}

// setKey replaces the publish key; a publisher using the old key is
// disconnected by the caller (the source notices the closed publisher).
// setKey records a new key and returns the publisher to disconnect: an
// RTMP pusher, who used the old key. A source Chalkcast runs itself (a
// camera, a test pattern) needs no key and goes on.
func (s *Stream) setKey(key string) *Publisher {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.Key = key
	if s.cfg.Source.Type != PushSource {
		return nil
	}
	return s.pub
}

// setSource records a new source and returns the publisher to
// disconnect: an RTMP sender, once the stream stops taking pushes. A
// source Chalkcast runs is stopped by its supervisor.
func (s *Stream) setSource(src Source) *Publisher {
	s.mu.Lock()
	defer s.mu.Unlock()
	wasPush := s.cfg.Source.Type == PushSource
	s.cfg.Source = src
	if !wasPush || src.Type == PushSource {
		return nil
	}
	return s.pub
}

// setStopped records the choice; stopping ends the publishing session at
// once (no grace period: the teacher chose to stop) and clears the error.
func (s *Stream) setStopped(stopped bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.Stopped = stopped
	if !stopped {
		return
	}
	if s.pub != nil {
		s.pub.closed.Store(true)
		s.pub = nil
	}
	s.lastErr = ""
	if s.ring != nil || s.state != StateIdle {
		s.endLocked("the stream was stopped")
	}
}

// delete ends everything about the stream.
func (s *Stream) delete() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleted = true
	if s.pub != nil {
		s.pub.closed.Store(true)
		s.pub = nil
	}
	if s.ring != nil || s.state != StateIdle {
		s.endLocked("stream deleted")
	}
}

// Configs returns the codec configurations of the stream's newest video
// and audio packets (nil for a track not seen yet).
func (s *Stream) Configs() (video, audio *CodecConfig) {
	return s.c.videoCfg.Load(), s.c.audioCfg.Load()
}

// Stream is the stream the viewer watches.
func (v *Viewer) Stream() *Stream { return v.s }
