package testpattern

import (
	"context"
	"image"
	"time"

	"chalkcast/engine"
	"chalkcast/media/encode"
)

// Type is the source type of the test pattern in the API.
const Type = "testpattern"

// Kind runs test-pattern sources on the engine's pool.
type Kind struct {
	pool *engine.Pool
}

// New returns the test-pattern source kind.
func New(pool *engine.Pool) *Kind { return &Kind{pool: pool} }

// Check validates the encoding options (preset, fps, bitrate, audio).
func (k *Kind) Check(src engine.Source) error {
	_, err := encode.ParseSettings(src.Options)
	return err
}

// audioChunk is how often the tone is handed to the encoder, like a sound
// card's period.
const audioChunk = 20 * time.Millisecond

// Run publishes the pattern into s until ctx ends.
func (k *Kind) Run(ctx context.Context, s *engine.Stream) error {
	set, err := encode.ParseSettings(s.Config().Source.Options)
	if err != nil {
		return err
	}
	info := engine.SourceInfo{Protocol: Type}
	return encode.Publish(ctx, k.pool, s, info, set, true, func(p *encode.Pipeline) error {
		return generate(ctx, p, set, true)
	})
}

// Capture runs the pattern into sink (a scene's input) until ctx ends,
// drawn at whatever size the sink asks for.
func (k *Kind) Capture(ctx context.Context, src engine.Source, sink encode.Sink, audio bool) error {
	set, err := encode.ParseSettings(src.Options)
	if err != nil {
		return err
	}
	return generate(ctx, sink, set, audio)
}

// generate makes frames (and with audio, tone) on the capture clock: frame n is captured
// at start + n/fps and audio sample i at start + i/rate, exactly, as a
// camera and a sound card would stamp them; a late wake-up does not move
// them. If the machine falls more than a second behind, the missed frames
// are skipped and counted as dropped. Frames are drawn at the size of the
// sink's buffer.
func generate(ctx context.Context, p encode.Sink, set encode.Settings, audio bool) error {
	fps := set.Video.FPS
	rate := set.Audio.SampleRate
	pat := NewPattern(set.Video.Width, set.Video.Height)
	tone := NewTone(rate, set.Audio.Channels)
	chunk := int(int64(rate) * int64(audioChunk) / int64(time.Second))
	start := p.Start()
	var frame, samples int64
	frameAt := func(n int64) time.Time { return start.Add(time.Duration(n) * time.Second / time.Duration(fps)) }
	sampleAt := func(n int64) time.Time { return start.Add(time.Duration(n) * time.Second / time.Duration(rate)) }
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		now := time.Now()
		if behind := now.Sub(frameAt(frame)); behind > time.Second {
			// a stall or a suspended laptop: skip what was missed rather
			// than flood the encoders with it
			skip := int64(behind.Seconds() * float64(fps))
			frame += skip
			p.Dropped(int(skip))
			missed := int64(behind.Seconds()*float64(rate)) / int64(chunk) * int64(chunk)
			samples += missed
			tone.Skip(int(missed))
		}
		for !frameAt(frame).After(now) {
			at := frameAt(frame)
			n := frame
			err := p.Video(at, func(dst *image.YCbCr) error {
				if dst.Rect.Dx() != pat.w || dst.Rect.Dy() != pat.h {
					pat = NewPattern(dst.Rect.Dx(), dst.Rect.Dy())
				}
				pat.Draw(dst, n, at, at.Sub(start))
				return nil
			})
			if err != nil {
				return err
			}
			frame++
		}
		// audio chunks whose last sample is due
		for audio && !sampleAt(samples+int64(chunk)).After(now) {
			if err := p.Audio(sampleAt(samples), tone.Next(chunk)); err != nil {
				return err
			}
			samples += int64(chunk)
		}
		next := frameAt(frame)
		if a := sampleAt(samples + int64(chunk)); audio && a.Before(next) {
			next = a
		}
		timer.Reset(time.Until(next))
	}
}
