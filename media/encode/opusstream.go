package encode

import (
	"time"

	"chalkcast/engine"
	"chalkcast/media/audio"
)

// OpusBitrate is what each channel of Opus for WebRTC is encoded at:
// speech and a room's sound are clear at it.
const OpusBitrate = 40000

// OpusMaxGap is the largest jump in the input's timestamps taken as the
// sound going on: a bigger one (a source that restarted, a clock that was
// corrected) starts the frames afresh from the new time.
const OpusMaxGap = 200 * time.Millisecond

// OpusStream encodes timed sound of any rate and channel count as 20 ms
// Opus frames at 48 kHz, mono or stereo (the input's, up to two), each
// stamped with the time of its first sample. It is used by one goroutine
// at a time.
type OpusStream struct {
	enc      *Opus
	out      int
	rs       *audio.Resampler
	rate, in int
	pcm      []int16       // 48 kHz samples waiting for a whole frame
	pts      time.Duration // presentation time of pcm[0]
	tail     time.Duration // presentation time just after the last sample
	started  bool
	floats   []float32
}

// NewOpusStream makes an encoder for sound of up to channels channels.
func NewOpusStream(channels int) (*OpusStream, error) {
	out := min(max(channels, 1), 2)
	enc, err := NewOpus(out, OpusBitrate*out)
	if err != nil {
		return nil, err
	}
	return &OpusStream{enc: enc, out: out}, nil
}

// Config is the configuration of the frames.
func (s *OpusStream) Config() *engine.CodecConfig { return s.enc.Config() }

// Write takes interleaved samples in [-1, 1] of ch channels at rate Hz,
// the first of them presented at pts, and calls emit for each frame they
// complete.
func (s *OpusStream) Write(pts time.Duration, samples []float32, rate, ch int, emit func(pts time.Duration, payload []byte)) error {
	if s.rs == nil || rate != s.rate || ch != s.in {
		s.rate, s.in = rate, ch
		s.rs = audio.NewResampler(rate, ch, OpusRate, s.out)
	}
	if !s.started || pts-s.tail > OpusMaxGap || s.tail-pts > OpusMaxGap {
		s.pcm, s.pts, s.started = s.pcm[:0], pts, true
	}
	s.pcm = s.rs.Convert(s.pcm, samples)
	frame := OpusFrameSamples * s.out
	for len(s.pcm) >= frame {
		b, err := s.enc.Encode(s.pcm[:frame])
		if err != nil {
			return err
		}
		emit(s.pts, b)
		s.pts += OpusFrame
		s.pcm = s.pcm[:copy(s.pcm, s.pcm[frame:])]
	}
	s.tail = s.pts + time.Duration(len(s.pcm)/s.out)*time.Second/OpusRate
	return nil
}

// WriteInt16 is Write for 16-bit samples.
func (s *OpusStream) WriteInt16(pts time.Duration, samples []int16, rate, ch int, emit func(pts time.Duration, payload []byte)) error {
	s.floats = s.floats[:0]
	for _, v := range samples {
		s.floats = append(s.floats, float32(v)/32768)
	}
	return s.Write(pts, s.floats, rate, ch, emit)
}

// Close frees the encoder.
func (s *OpusStream) Close() { s.enc.Close() }
