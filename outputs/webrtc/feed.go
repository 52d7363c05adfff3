package webrtc

import (
	"context"
	"io"
	"sync"
	"time"

	"chalkcast/engine"
	"chalkcast/media/decode"
	"chalkcast/media/encode"
)

// feedFrames is how many Opus frames a feed keeps for its listeners: 1.28
// s. A listener further behind starts again from the newest.
const feedFrames = 64

// feed is one stream's sound as Opus, for every WebRTC viewer of the
// stream: the Opus its own source encoded beside the AAC, or the AAC
// decoded, resampled to 48 kHz and encoded once, however many listen.
type feed struct {
	s      *engine.Stream
	refs   int // under Output.mu
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex
	frames [feedFrames]opusFrame
	head   uint64 // sequence number of the next frame
	wake   chan struct{}
	ended  bool
}

type opusFrame struct {
	payload []byte
	pts     time.Duration
}

// join returns s's feed, starting it for the first listener.
func (o *Output) join(s *engine.Stream) *feed {
	o.mu.Lock()
	defer o.mu.Unlock()
	f := o.feeds[s]
	if f == nil {
		ctx, cancel := context.WithCancel(o.sessions.Context())
		f = &feed{s: s, cancel: cancel, done: make(chan struct{}), wake: make(chan struct{})}
		o.feeds[s] = f
		go f.run(ctx, o)
	}
	f.refs++
	return f
}

// leave stops f when its last listener goes.
func (o *Output) leave(f *feed) {
	o.mu.Lock()
	f.refs--
	last := f.refs == 0
	if last && o.feeds[f.s] == f {
		delete(o.feeds, f.s)
	}
	o.mu.Unlock()
	if last {
		f.cancel()
		<-f.done
	}
}

func (f *feed) run(ctx context.Context, o *Output) {
	defer close(f.done)
	defer f.end()
	rd, err := f.s.NewReader(nil)
	if err != nil {
		return
	}
	defer rd.Close()
	t := transcoder{}
	defer t.close()
	var batch []*engine.Packet
	for {
		if batch, err = rd.Next(ctx, batch[:0]); err != nil {
			if err != io.EOF && ctx.Err() == nil {
				o.log.Debug("Opus feed ended", "stream", f.s.Name(), "err", err)
			}
			return
		}
		for _, p := range batch {
			if p.Track != engine.TrackAudio || p.Codec != engine.CodecAAC {
				continue
			}
			if err := t.packet(p, f.publish); err != nil {
				o.log.Warn("transcoding the sound to Opus", "stream", f.s.Name(), "err", err)
				t.close()
			}
		}
	}
}

// publish adds one frame and wakes the listeners.
func (f *feed) publish(fr opusFrame) {
	f.mu.Lock()
	f.frames[f.head%feedFrames] = fr
	f.head++
	wake := f.wake
	f.wake = make(chan struct{})
	f.mu.Unlock()
	close(wake)
}

func (f *feed) end() {
	f.mu.Lock()
	f.ended = true
	close(f.wake)
	f.mu.Unlock()
}

// newest is the sequence number a new listener starts at.
func (f *feed) newest() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.head
}

// next appends the frames from sequence number seq on to dst, waiting for
// one, and returns the sequence number to ask for next. A listener that
// fell further behind than the feed keeps skips to the newest frame. It
// fails with io.EOF once the feed has ended.
func (f *feed) next(ctx context.Context, seq uint64, dst []opusFrame) ([]opusFrame, uint64, error) {
	for {
		f.mu.Lock()
		if f.head > seq+feedFrames {
			seq = f.head - 1
		}
		for ; seq < f.head; seq++ {
			dst = append(dst, f.frames[seq%feedFrames])
		}
		ended, wake := f.ended, f.wake
		f.mu.Unlock()
		if len(dst) > 0 {
			return dst, seq, nil
		}
		if ended {
			return dst, seq, io.EOF
		}
		select {
		case <-ctx.Done():
			return dst, seq, ctx.Err()
		case <-wake:
		}
	}
}

// transcoder turns AAC packets into 20 ms Opus frames: the frames they
// carry where their source encoded them from the samples, or else their
// sound decoded and encoded again.
type transcoder struct {
	cfg *engine.CodecConfig
	dec *decode.Audio
	enc *encode.OpusStream
}

// packet transcodes one AAC packet, calling emit for each Opus frame it
// completes.
func (t *transcoder) packet(p *engine.Packet, emit func(opusFrame)) error {
	if p.Config != nil && p.Config.Opus != nil {
		for _, f := range p.Opus {
			emit(opusFrame{payload: f.Payload, pts: p.PTS + f.Offset})
		}
		return nil
	}
	if t.dec == nil || !p.Config.Equal(t.cfg) {
		if err := t.open(p.Config); err != nil {
			return err
		}
	}
	var err error
	derr := t.dec.Decode(p.Payload, func(samples []float32, ch int) {
		if err == nil {
			err = t.enc.Write(p.PTS, samples, t.cfg.SampleRate, ch, func(pts time.Duration, b []byte) {
				emit(opusFrame{payload: b, pts: pts})
			})
		}
	})
	if derr != nil {
		return derr
	}
	return err
}

func (t *transcoder) open(cfg *engine.CodecConfig) error {
	t.close()
	dec, err := decode.NewAudio(cfg)
	if err != nil {
		return err
	}
	enc, err := encode.NewOpusStream(cfg.Channels)
	if err != nil {
		dec.Close()
		return err
	}
	t.cfg, t.dec, t.enc = cfg, dec, enc
	return nil
}

func (t *transcoder) close() {
	if t.dec != nil {
		t.dec.Close()
		t.enc.Close()
		t.dec, t.enc, t.cfg = nil, nil, nil
	}
}
