package scene

import (
	"context"
	"errors"
	"fmt"
	"image"
	"time"

	"chalkcast/engine"
	sound "chalkcast/media/audio"
	"chalkcast/media/composite"
	"chalkcast/media/decode"
	"chalkcast/media/encode"
)

// inputSink hands an input's pictures to its area of the scene and, for
// the input whose sound the scene carries, its sound to the encoder.
type inputSink struct {
	in             *composite.Input
	start          time.Time
	audio          *encode.Pipeline // nil for an input whose sound is not carried
	rate, channels int              // the scene's sound
}

func (s *inputSink) Start() time.Time { return s.start }

func (s *inputSink) Video(captured time.Time, fill func(dst *image.YCbCr) error) error {
	return s.in.Put(captured, fill)
}

func (s *inputSink) Audio(first time.Time, pcm []int16) error {
	if s.audio == nil {
		return nil
	}
	return s.audio.Audio(first, pcm)
}

// Dropped: an input's lost frames are not the scene's; the scene's own
// are counted by its encoder.
func (s *inputSink) Dropped(int) {}

// Retry waits between attempts to bring back a failed input grow from
// minRetry to maxRetry: an IP camera back from a reboot shows within
// seconds.
const (
	minRetry = 500 * time.Millisecond
	maxRetry = 5 * time.Second
)

// keepInput runs input i until ctx ends, showing the placeholder and
// trying again while it fails.
func (k *Kind) keepInput(ctx context.Context, scene string, i int, src engine.Source, sink *inputSink) {
	log := k.log.With("stream", scene, "input", i+1, "source", src.Type)
	wait := minRetry
	lastErr := ""
	for {
		start := time.Now()
		err := k.runInput(ctx, scene, i, src, sink)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = errors.New("it stopped")
		}
		sink.in.SetDown()
		if time.Since(start) > time.Minute {
			wait = minRetry
		}
		if err.Error() != lastErr {
			lastErr = err.Error()
			log.Warn("scene input down; retrying", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, maxRetry)
	}
}

// runInput runs an input once, until ctx ends or it fails.
func (k *Kind) runInput(ctx context.Context, scene string, i int, src engine.Source, sink *inputSink) error {
	if src.Type == StreamInput {
		st, ok := k.hub.Get(src.Options[StreamInput])
		if !ok {
			return fmt.Errorf("there is no stream %q", src.Options[StreamInput])
		}
		return decodeInto(ctx, st, sink)
	}
	kind := k.kinds[src.Type]
	if c, ok := kind.(encode.Capturer); ok {
		return c.Capture(ctx, src, sink, sink.audio != nil)
	}
	// A kind that publishes packets (an IP camera) runs into a stream of
	// its own, which is decoded until the source stops.
	st, release := k.hub.Detached(fmt.Sprintf("%s/input%d", scene, i+1), src)
	defer release()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ran := make(chan error, 1)
	go func() {
		ran <- kind.Run(ctx, st)
		cancel()
	}()
	err := decodeInto(ctx, st, sink)
	cancel()
	if rerr := <-ran; rerr != nil {
		return rerr
	}
	return err
}

// decodeInto decodes st into sink until ctx ends or st does: its video
// always, its sound when the scene carries it. While st is not live
// (after a moment to connect), the input shows its placeholder.
func decodeInto(ctx context.Context, st *engine.Stream, sink *inputSink) error {
	var rd *engine.Reader
	for since := time.Now(); rd == nil; {
		var err error
		if rd, err = st.NewReader(nil); err == nil {
			break
		}
		if time.Since(since) > composite.Stale {
			sink.in.SetDown()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(100 * time.Millisecond):
		}
	}
	defer rd.Close()
	d := &decoder{sink: sink, needKey: true}
	defer d.close()
	var batch []*engine.Packet
	for {
		var err error
		batch, err = rd.Next(ctx, batch[:0])
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("its stream ended: %w", err)
		}
		for _, pk := range batch {
			switch {
			case pk.Config == nil:
			case pk.Track == engine.TrackVideo:
				err = d.picture(pk)
			case sink.audio != nil:
				err = d.sound(pk)
			}
			if err != nil {
				return err
			}
		}
	}
}

// decoder decodes one input's packets into its sink.
type decoder struct {
	sink    *inputSink
	video   *decode.Video
	needKey bool
	pic     *image.RGBA
	audio   *decode.Audio
	res     *sound.Resampler
	pcm     []int16
}

func (d *decoder) close() {
	if d.video != nil {
		d.video.Close()
	}
	if d.audio != nil {
		d.audio.Close()
	}
}

func (d *decoder) picture(pk *engine.Packet) error {
	if d.video == nil || !d.video.Config().Equal(pk.Config) {
		if d.video != nil {
			d.video.Close()
			d.video = nil
		}
		v, err := decode.NewVideo(pk.Config)
		if err != nil {
			return fmt.Errorf("its video cannot be decoded: %w", err)
		}
		d.video, d.needKey = v, true
	}
	if d.needKey && !pk.Keyframe {
		return nil
	}
	d.needKey = false
	if got, err := d.video.Decode(pk.Payload); err != nil || !got {
		return nil // a damaged frame: the next keyframe repairs it
	}
	return d.sink.in.Put(pk.Published, func(dst *image.YCbCr) error {
		p, err := d.video.Picture(d.pic, dst.Rect.Dx())
		if err != nil || p == nil {
			return fmt.Errorf("a picture did not scale: %w", err)
		}
		d.pic = p
		return encode.Fit(dst, p)
	})
}

// sound decodes pk and hands its samples, in the scene's rate and
// channels, to the scene's encoder; a packet that does not decode is
// left out.
func (d *decoder) sound(pk *engine.Packet) error {
	if d.audio == nil || !d.audio.Config().Equal(pk.Config) {
		if d.audio != nil {
			d.audio.Close()
			d.audio = nil
		}
		a, err := decode.NewAudio(pk.Config)
		if err != nil {
			return fmt.Errorf("its sound cannot be decoded: %w", err)
		}
		d.audio, d.res = a, nil
	}
	var err error
	derr := d.audio.Decode(pk.Payload, func(samples []float32, channels int) {
		if d.res == nil {
			rate := pk.Config.SampleRate
			if rate <= 0 {
				rate = d.sink.rate
			}
			d.res = sound.NewResampler(rate, max(1, channels), d.sink.rate, d.sink.channels)
		}
		d.pcm = d.res.Convert(d.pcm[:0], samples)
		if err == nil && len(d.pcm) > 0 {
			err = d.sink.Audio(pk.Published, d.pcm)
		}
	})
	if derr != nil {
		return nil
	}
	return err
}
