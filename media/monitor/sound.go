package monitor

import (
	"context"

	"chalkcast/engine"
	"chalkcast/media/audio"
	"chalkcast/media/decode"
)

// sound measures one stream's audio as it is sent.
type sound struct {
	w      *watch
	s      *engine.Stream
	dec    *decode.Audio
	meter  *audio.Meter
	quiet  int  // consecutive meter windows below QuietBelow
	hushed bool // muted, and the silence has arrived
	failed bool // the latest error was logged
}

// pendingAudio bounds the packets waiting for the decoder (about ten
// seconds of AAC).
const pendingAudio = 500

// listen measures s's sound while it is live; one listener per stream,
// which follows the stream from one publishing session to the next.
func (w *watch) listen(ctx context.Context, s *engine.Stream) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.looks) > 0 {
		w.startVideoLocked()
	}
	if w.listening {
		return
	}
	w.listening = w.m.spawn(func(done func()) {
		snd := &sound{w: w, s: s}
		l := newLane(w.m.hub.Pool(), pendingAudio, snd.decode)
		for {
			if rd, err := s.NewReader(nil); err == nil {
				feed(ctx, rd, l, func(pk *engine.Packet) bool { return pk.Track == engine.TrackAudio })
			}
			w.mu.Lock()
			if ctx.Err() != nil || !s.State().Active() {
				w.listening = false
				w.mu.Unlock()
				l.finish(func() {
					if snd.dec != nil {
						snd.dec.Close()
					}
					done()
				})
				return
			}
			w.mu.Unlock()
		}
	})
}

// decode runs on the pool, one batch at a time per stream.
func (snd *sound) decode(batch []*engine.Packet, dropped bool) {
	if dropped {
		snd.quiet = 0
	}
	for _, pk := range batch {
		if pk.Config == nil {
			continue
		}
		if snd.dec == nil || (snd.dec.Config() != pk.Config && !snd.dec.Config().Equal(pk.Config)) {
			if !snd.open(pk.Config) {
				continue
			}
		}
		if err := snd.dec.Decode(pk.Payload, snd.measure); err != nil {
			snd.fail("a sound packet did not decode", err)
			continue
		}
		snd.failed = false
	}
}

// measure feeds decoded samples to the meter.
func (snd *sound) measure(samples []float32, channels int) {
	snd.meter.Add(samples, channels, func(l engine.AudioLevel) {
		muted := snd.s.Muted()
		if muted && !snd.hushed && l.Peak <= engine.SilenceFloor {
			// the first window of the silence that replaced the sound:
			// the meter falls at once instead of a second later
			snd.meter.ForgetSecond()
			l.SecondPeak, snd.hushed = l.Peak, true
		}
		snd.hushed = snd.hushed && muted
		snd.s.SetAudioLevel(l)
		switch {
		case muted:
			snd.quiet = 0 // the teacher chose silence: the card says "Muted"
			snd.clearQuiet()
		case l.Peak < QuietBelow:
			if snd.quiet++; snd.quiet*int(audio.Window) >= int(QuietFor) {
				snd.s.SetSilent(audio.ReasonQuiet)
			}
		default:
			snd.quiet = 0
			snd.clearQuiet()
		}
	})
}

func (snd *sound) clearQuiet() {
	if snd.s.Silent() == audio.ReasonQuiet {
		snd.s.SetSilent("")
	}
}

func (snd *sound) open(cfg *engine.CodecConfig) bool {
	if snd.dec != nil {
		snd.dec.Close()
		snd.dec = nil
	}
	dec, err := decode.NewAudio(cfg)
	if err != nil {
		snd.fail("the level meter cannot decode this sound", err)
		return false
	}
	snd.dec, snd.meter, snd.quiet = dec, audio.NewMeter(cfg.SampleRate), 0
	return true
}

func (snd *sound) fail(what string, err error) {
	if !snd.failed {
		snd.w.m.log.Warn(what, "stream", snd.w.name, "err", err)
	}
	snd.failed = true
}
