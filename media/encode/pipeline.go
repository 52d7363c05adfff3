// Package encode is the media stage that turns raw pictures and PCM into
// engine packets: H.264 with OpenH264 and AAC with VisualOn's encoder,
// encoded on the engine's pool. The sources that capture (camera, screen,
// test pattern) use it, and so will scenes and renditions. It must not
// import a source, an output, a protocol or the GUI.
package encode

import (
	"context"
	"errors"
	"fmt"
	"image"
	"sync"
	"sync/atomic"
	"time"

	"chalkcast/engine"
)

// Pipeline turns captured frames and PCM into H.264 and AAC packets of one
// stream, the AAC carrying the same sound as Opus. Capture goroutines hand it frames without waiting; the encoding
// runs on the engine's bounded pool, in order per track. When the video
// encoder is still busy with earlier frames a new frame is dropped and
// counted, so a slow machine loses frame rate, never latency.
//
// Timestamps come from the capture clock: a frame's presentation time is
// when it was captured, audio's is when its first sample was, both relative
// to the pipeline's start.
type Pipeline struct {
	pub   *engine.Publisher
	pool  *engine.Pool
	ctx   context.Context
	start time.Time

	video   *H264
	free    chan *image.YCbCr // frame buffers not being encoded
	vq      serial[videoFrame]
	wantKey atomic.Bool // a viewer asked for a keyframe (engine.Stream.RequestKeyframe)

	audio    *AAC
	acfg     *engine.CodecConfig // the AAC's, announcing the Opus it carries
	opus     *OpusStream         // the same sound for WebRTC, encoded once here
	opusOut  []engine.OpusFrame  // frames waiting for an AAC packet, timed from 0
	channels int
	clock    audioClock
	pcm      []int16       // samples waiting for a whole AAC frame
	pcmPTS   time.Duration // capture time of pcm[0]
	aq       serial[audioFrame]

	writeMu sync.Mutex // packets come from pool workers

	mu     sync.RWMutex
	closed bool
	wg     sync.WaitGroup
	errMu  sync.Mutex
	err    error
}

type videoFrame struct {
	img      *image.YCbCr
	captured time.Time
}

type audioFrame struct {
	pcm []int16
	pts time.Duration
}

// AACDelay is how many samples later than its input the VisualOn
// encoder's output plays: one frame of priming plus 576 samples of
// look-ahead (measured with the test pattern's beep against its flash).
// Audio timestamps are moved back by it so that sound and picture
// captured together play together.
const AACDelay = AACFrameSamples + 576

// NewPipeline makes the encoders and announces the tracks to pub. With
// audio false the stream is video-only. Frames must be s.Video.Width ×
// s.Video.Height; ctx bounds waits for the pool.
func NewPipeline(ctx context.Context, pool *engine.Pool, pub *engine.Publisher, s Settings, audio bool) (*Pipeline, error) {
	v, err := NewH264(s.Video)
	if err != nil {
		return nil, err
	}
	p := &Pipeline{pub: pub, pool: pool, ctx: ctx, start: time.Now(), video: v, free: make(chan *image.YCbCr, 2)}
	for range cap(p.free) {
		p.free <- image.NewYCbCr(image.Rect(0, 0, s.Video.Width, s.Video.Height), image.YCbCrSubsampleRatio420)
	}
	p.vq = serial[videoFrame]{pool: pool, run: p.encodeVideo}
	pub.OnKeyframeRequest(func() { p.wantKey.Store(true) })
	if audio {
		if p.audio, err = NewAAC(s.Audio.SampleRate, s.Audio.Channels, s.Audio.Bitrate); err != nil {
			v.Close()
			return nil, err
		}
		if p.opus, err = NewOpusStream(s.Audio.Channels); err != nil {
			v.Close()
			p.audio.Close()
			return nil, err
		}
		acfg := *p.audio.Config()
		acfg.Opus = p.opus.Config()
		p.acfg = &acfg
		p.channels = s.Audio.Channels
		p.clock = audioClock{rate: s.Audio.SampleRate}
		p.aq = serial[audioFrame]{pool: pool, run: p.encodeAudio}
		pub.SetConfig(engine.TrackAudio, p.acfg)
	}
	return p, nil
}

// Start is the capture time that is presentation time zero.
func (p *Pipeline) Start() time.Time { return p.start }

// Dropped counts n frames the source could not capture in time.
func (p *Pipeline) Dropped(n int) { p.pub.DropFrames(n) }

// Err is the first encoding error, if any; the source should stop.
func (p *Pipeline) Err() error {
	p.errMu.Lock()
	defer p.errMu.Unlock()
	return p.err
}

// errPublisherClosed: the stream stopped taking this source's packets
// (it was stopped or deleted); the supervisor stops or restarts the source.
var errPublisherClosed = errors.New("the stream stopped taking this source's pictures and sound")

func (p *Pipeline) check() error {
	if p.pub.Closed() {
		return errPublisherClosed
	}
	return p.Err()
}

func (p *Pipeline) fail(err error) {
	p.errMu.Lock()
	if p.err == nil {
		p.err = err
	}
	p.errMu.Unlock()
}

// Video offers a frame captured at captured: fill draws it into the
// pipeline's buffer (of the configured size, I420). If the encoder is
// behind, the frame is dropped without calling fill. Video never waits for
// the encoder.
func (p *Pipeline) Video(captured time.Time, fill func(dst *image.YCbCr) error) error {
	if err := p.check(); err != nil {
		return err
	}
	var buf *image.YCbCr
	select {
	case buf = <-p.free:
	default:
		p.pub.DropFrames(1)
		return nil
	}
	if err := fill(buf); err != nil {
		p.free <- buf
		return err
	}
	if !p.enqueue(func() bool { return p.vq.push(p.ctx, videoFrame{buf, captured}, false) }) {
		p.free <- buf
		p.pub.DropFrames(1)
	}
	return nil
}

// Audio offers interleaved 16-bit samples whose first sample was captured
// at first. The caller may reuse pcm afterwards.
func (p *Pipeline) Audio(first time.Time, pcm []int16) error {
	if p.audio == nil {
		return errors.New("encode: this stream has no audio track")
	}
	if err := p.check(); err != nil {
		return err
	}
	// The samples still waiting for a whole AAC frame are stamped from
	// this chunk's stamp, so that a correction of the audio clock takes
	// effect at once.
	pts := p.clock.stamp(first.Sub(p.start), len(pcm)/p.channels)
	p.pcmPTS = pts - time.Duration(len(p.pcm)/p.channels)*time.Second/time.Duration(p.clock.rate)
	p.pcm = append(p.pcm, pcm...)
	n := AACFrameSamples * p.channels
	for len(p.pcm) >= n {
		f := audioFrame{pcm: append([]int16(nil), p.pcm[:n]...), pts: p.pcmPTS}
		p.pcm = append(p.pcm[:0], p.pcm[n:]...)
		p.pcmPTS += time.Duration(AACFrameSamples) * time.Second / time.Duration(p.clock.rate)
		// audio waits for room on the pool rather than leaving gaps
		if !p.enqueue(func() bool { return p.aq.push(p.ctx, f, true) }) {
			return fmt.Errorf("encode: audio: %w", context.Cause(p.ctx))
		}
	}
	return nil
}

// enqueue runs push unless the pipeline is closed, counting the job.
func (p *Pipeline) enqueue(push func() bool) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return false
	}
	p.wg.Add(1)
	if !push() {
		p.wg.Done()
		return false
	}
	return true
}

func (p *Pipeline) encodeVideo(f videoFrame) {
	defer p.wg.Done()
	if p.wantKey.Swap(false) {
		if err := p.video.ForceKeyframe(); err != nil {
			p.fail(err)
			return
		}
	}
	payload, key, cfg, err := p.video.Encode(f.img)
	p.free <- f.img
	if err != nil {
		p.fail(err)
		return
	}
	if len(payload) == 0 {
		return
	}
	pts := f.captured.Sub(p.start)
	p.write(&engine.Packet{
		Track: engine.TrackVideo, Codec: engine.CodecH264,
		PTS: pts, DTS: pts, Keyframe: key, Payload: payload, Config: cfg,
	})
	p.pub.EncodeLatency(time.Since(f.captured))
}

// encodeAudio encodes one frame as AAC and the same samples as Opus, which
// the AAC packet carries (engine.Packet.Opus): WebRTC viewers get sound
// encoded once from the samples, not a transcode of the AAC.
func (p *Pipeline) encodeAudio(f audioFrame) {
	defer p.wg.Done()
	au, err := p.audio.Encode(f.pcm)
	if err == nil {
		err = p.opus.WriteInt16(f.pts, f.pcm, p.clock.rate, p.channels, func(pts time.Duration, b []byte) {
			p.opusOut = append(p.opusOut, engine.OpusFrame{Offset: pts, Payload: b})
		})
	}
	if err != nil {
		p.fail(err)
		return
	}
	pts := f.pts - time.Duration(AACDelay)*time.Second/time.Duration(p.clock.rate)
	if pts < 0 {
		// the encoder's priming: sound from before the stream started,
		// which would otherwise be squeezed onto time zero (its Opus
		// waits for the first packet)
		return
	}
	opus := make([]engine.OpusFrame, len(p.opusOut))
	for i, o := range p.opusOut {
		opus[i] = engine.OpusFrame{Offset: o.Offset - pts, Payload: o.Payload}
	}
	p.opusOut = p.opusOut[:0]
	p.write(&engine.Packet{
		Track: engine.TrackAudio, Codec: engine.CodecAAC,
		PTS: pts, DTS: pts, Keyframe: true, Payload: au, Config: p.acfg, Opus: opus,
	})
}

func (p *Pipeline) write(pkt *engine.Packet) {
	p.writeMu.Lock()
	p.pub.WritePacket(pkt)
	p.writeMu.Unlock()
}

// Close waits for the frames being encoded and frees the encoders.
func (p *Pipeline) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.mu.Unlock()
	p.wg.Wait()
	p.video.Close()
	if p.audio != nil {
		p.audio.Close()
		p.opus.Close()
	}
}

// serial runs the jobs of one track in order on the pool, one at a time,
// without a goroutine of its own.
type serial[T any] struct {
	pool    *engine.Pool
	run     func(T)
	mu      sync.Mutex
	queue   []T
	running bool
}

// push queues v. With wait false it gives up when the pool is full;
// with wait true it waits for room until ctx ends. It reports whether v
// will run.
func (s *serial[T]) push(ctx context.Context, v T, wait bool) bool {
	s.mu.Lock()
	s.queue = append(s.queue, v)
	if s.running {
		s.mu.Unlock()
		return true
	}
	s.running = true
	s.mu.Unlock()
	var err error
	if wait {
		err = s.pool.Submit(ctx, s.drain)
	} else {
		err = s.pool.TrySubmit(s.drain)
	}
	if err != nil {
		s.mu.Lock()
		s.queue = s.queue[:len(s.queue)-1]
		s.running = false
		s.mu.Unlock()
		return false
	}
	return true
}

func (s *serial[T]) drain() {
	for {
		s.mu.Lock()
		if len(s.queue) == 0 {
			s.running = false
			s.mu.Unlock()
			return
		}
		v := s.queue[0]
		s.queue = s.queue[1:]
		s.mu.Unlock()
		s.run(v)
	}
}

// audioClock gives audio its timestamps: sample counts from the first
// chunk's capture time, so that the sound card's steady clock, not the
// arrival jitter of chunks, spaces the packets. When the sample clock and
// the capture clock drift apart by more than maxAudioDrift (a sound card
// whose 48 kHz is really 47.99 kHz), the sample clock is moved back into
// step.
type audioClock struct {
	rate    int
	started bool
	base    time.Duration // capture time of sample 0
	samples int64
	err     time.Duration // smoothed capture-minus-sample-clock difference
}

const maxAudioDrift = 20 * time.Millisecond

// stamp returns the timestamp of a chunk of n samples per channel whose
// first sample was captured at at.
func (c *audioClock) stamp(at time.Duration, n int) time.Duration {
	if !c.started {
		c.started, c.base = true, at
	}
	pts := c.base + time.Duration(c.samples)*time.Second/time.Duration(c.rate)
	c.err += (at - pts - c.err) / 16
	if c.err > maxAudioDrift || c.err < -maxAudioDrift {
		c.base += c.err
		pts += c.err
		c.err = 0
	}
	c.samples += int64(n)
	return pts
}

// Publish makes the stream's publisher and a pipeline for it, and runs
// capture until ctx ends (then it returns nil) or capture fails. The
// publisher leaves quietly: the caller (the engine's supervisor) reports
// the error once.
func Publish(ctx context.Context, pool *engine.Pool, s *engine.Stream, info engine.SourceInfo, set Settings, audio bool, capture func(*Pipeline) error) (err error) {
	pub, err := s.Publish(info)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	defer pub.Close(nil)
	pipe, err := NewPipeline(ctx, pool, pub, set, audio)
	if err != nil {
		return err
	}
	defer pipe.Close()
	err = capture(pipe)
	if ctx.Err() != nil {
		return nil
	}
	return err
}
